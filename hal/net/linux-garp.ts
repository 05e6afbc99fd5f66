/**
 * Gratuitous ARP for the Linux net driver. Frames go through a long-lived helper (garp-helper.ts): the
 * first frame of a burst leaves well under a millisecond after the call once the helper runs, and that
 * same request checks the link and the address, so no tool is started on the way. The helper is started
 * by `warm()` (the driver calls it when addresses are read or added: a driver that manages addresses is
 * one that will announce them) or by the first burst.
 *
 * Where the helper cannot run (no python3, no CAP_NET_RAW) it falls back, with one warning, to iputils
 * arping: each frame its own `arping -c 1` after an `ip link` carrier check, because arping takes whole
 * seconds for -i and lingers a second after its last frame. That costs a process start per frame.
 */
import type { Clock } from '../clock/types.ts';
import { abortError, HalError } from '../errors.ts';
import { checkAnnounceLink } from './announce-check.ts';
import { runBurst } from './burst.ts';
import { GarpHelper, HelperUnavailable } from './garp-helper.ts';
import type { ParsedIp } from './ip.ts';
import type { LinuxTools, ToolRun } from './linux-exec.ts';
import { linkDoesArp, parseAddresses, parseLinks } from './linux-parse.ts';
import type { AnnounceForm } from './types.ts';

export type GarpSender = 'helper' | 'arping';

export interface LinuxGarpOptions {
  tools: LinuxTools;
  netns: string | undefined;
  /** Names the host or namespace in errors. */
  where: string;
  /** 'arping' skips the helper. Default 'helper'. */
  sender: GarpSender;
  /** The helper's interpreter. Default 'python3'. */
  python: string | undefined;
  warn: (message: string) => void;
}

export interface Burst {
  link: string;
  vip: ParsedIp;
  form: AnnounceForm;
  count: number;
  intervalMs: number;
}

export class LinuxGarp {
  private readonly helper: GarpHelper;
  private fallback: boolean;

  constructor(private readonly o: LinuxGarpOptions) {
    this.helper = new GarpHelper({
      netns: o.netns,
      where: o.where,
      ...(o.python === undefined ? {} : { python: o.python }),
    });
    this.fallback = o.sender === 'arping';
  }

  /** Which sender the next burst uses. */
  get sender(): GarpSender {
    return this.fallback ? 'arping' : 'helper';
  }

  /** The helper's PID while it runs. */
  get helperPid(): number | undefined {
    return this.helper.pid;
  }

  /** Starts the helper in the background; a failure shows on the next burst. */
  warm(): void {
    if (!this.fallback) this.helper.start().catch(() => undefined);
  }

  async announce(b: Burst, clock: Clock, signal: AbortSignal): Promise<number> {
    if (!this.fallback) {
      try {
        await untilAborted(this.helper.start(), signal, b.link);
      } catch (err) {
        if (signal.aborted) throw abortError(signal, b.link);
        if (!(err instanceof HelperUnavailable)) throw err;
        this.fallback = true;
        this.o.warn(
          `net ${this.o.where}: gratuitous ARP falls back to arping (a process per frame): ${err.message}`,
        );
      }
    }
    if (this.fallback) return this.viaArping(b, clock, signal);
    return runBurst(
      clock,
      { count: b.count, intervalMs: b.intervalMs, signal, device: b.link },
      async (index, frameSignal) => {
        const a = await this.helper.frame(
          { link: b.link, ip: b.vip.address, form: b.form, check: index === 0 },
          frameSignal,
        );
        if (!a.exists) throw this.noLink(b.link);
        if (index === 0) {
          checkAnnounceLink(b.link, b.vip, {
            doesArp: a.doesArp,
            adminUp: a.adminUp,
            hasAddress: a.hasAddress === true,
          });
        }
        return a.sent;
      },
    );
  }

  close(): Promise<void> {
    return this.helper.close();
  }

  private noLink(link: string): HalError {
    const where = this.o.netns === undefined ? '' : ` (netns ${this.o.netns})`;
    return new HalError('HAL_NOT_FOUND', `announce on ${link}${where}: no link named "${link}"`, {
      device: link,
    });
  }

  private async viaArping(b: Burst, clock: Clock, signal: AbortSignal): Promise<number> {
    const how = (action: string, s: AbortSignal): ToolRun => ({ action, device: b.link, signal: s });
    const { stdout } = await this.o.tools.ip(
      ['-j', 'addr', 'show', 'dev', b.link],
      how('announce on', signal),
    );
    checkAnnounceLink(b.link, b.vip, {
      doesArp: linkDoesArp(stdout, b.link),
      adminUp: parseLinks(stdout).some((l) => l.name === b.link && l.adminUp),
      hasAddress: parseAddresses(stdout).some((a) => a.address === b.vip.address),
    });
    const mode = b.form === 'reply' ? '-A' : '-U';
    return runBurst(
      clock,
      { count: b.count, intervalMs: b.intervalMs, signal, device: b.link },
      async (_index, frameSignal) => {
        const now = await this.o.tools.ip(
          ['-j', 'link', 'show', 'dev', b.link],
          how('announce on', frameSignal),
        );
        if (!parseLinks(now.stdout).some((l) => l.name === b.link && l.carrier)) return false;
        const out = await this.o.tools.tool(['arping', mode, '-c', '1', '-I', b.link, b.vip.address], {
          ...how(`announce ${b.vip.address} on`, frameSignal),
          timeoutMs: 10_000,
        });
        return Number(/Sent (\d+) probe/.exec(out.stdout)?.[1] ?? 0) > 0;
      },
    );
  }
}

/** `p`, or the signal's abort error as soon as it aborts (`p` goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, device: string): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal, device));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, device));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
