/** Operator actions: failover, maintenance, ping, reboot, update, help and logout. */
import { HalError } from '../../../hal/errors.ts';
import { unavailable } from '../errors.ts';
import { type CommandContext, confirm, type Handler } from './context.ts';

const CLUSTER = '(the cluster service)';

async function auditQuietly(ctx: CommandContext, message: string): Promise<void> {
  try {
    await ctx.backend.audit(message);
  } catch {
    // An audit line that cannot be written (standby journal) does not stop an operator action.
  }
}

const failover: Handler = async (ctx) => {
  const run = ctx.backend.failover?.bind(ctx.backend);
  if (!run) throw unavailable(`failover ${CLUSTER}`);
  if (!(await confirm(ctx, 'Hand the active role over to the peer?'))) return;
  await auditQuietly(ctx, `failover requested by ${ctx.user.name}`);
  ctx.term.print(await run({ signal: ctx.signal }));
};

const maintenance: Handler = async (ctx, { args }) => {
  const run = ctx.backend.maintenance?.bind(ctx.backend);
  if (!run) throw unavailable(`maintenance mode ${CLUSTER}`);
  const on = args.on as boolean;
  if (on && !(await confirm(ctx, 'Put this node in maintenance (it will not take over)?'))) return;
  await auditQuietly(ctx, `maintenance ${on ? 'on' : 'off'} by ${ctx.user.name}`);
  ctx.term.print(await run(on, { signal: ctx.signal }));
};

const reboot: Handler = async (ctx) => {
  const run = ctx.backend.reboot?.bind(ctx.backend);
  if (!run) throw unavailable('reboot (the supervisor)');
  if (!(await confirm(ctx, 'Reboot this appliance?'))) return;
  await auditQuietly(ctx, `reboot requested by ${ctx.user.name}`);
  ctx.term.print(await run({ signal: ctx.signal }));
};

const update: Handler = async (ctx, { options }) => {
  const run = ctx.backend.update?.bind(ctx.backend);
  if (!run) throw unavailable('firmware update (the update service)');
  ctx.term.print(await run({ bundle: options.bundle as string | undefined }, { signal: ctx.signal }));
};

const ping: Handler = async (ctx, { args, options }) => {
  const send = ctx.backend.ping?.bind(ctx.backend);
  if (!send) throw unavailable('ping (no ICMP driver)');
  const address = args.address as string;
  const count = (options.count as number | undefined) ?? 4;
  const timeoutMs = (options.timeout as number | undefined) ?? 1000;
  const rtts: number[] = [];
  let sent = 0;
  try {
    for (let i = 0; i < count; i++) {
      if (i > 0) await ctx.clock.sleep(1000, { signal: ctx.signal });
      sent++;
      try {
        const r = await send(address, { timeoutMs, signal: ctx.signal });
        rtts.push(r.rttMs);
        ctx.term.print(
          `reply from ${address}: seq ${i + 1} time ${r.rttMs.toFixed(3)} ms${r.ttl === undefined ? '' : ` ttl ${r.ttl}`}`,
        );
      } catch (err) {
        if (!HalError.is(err, 'HAL_TIMEOUT')) throw err;
        ctx.term.print(`no reply from ${address}: seq ${i + 1} within ${timeoutMs} ms`);
      }
    }
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
    ctx.term.print('interrupted');
  } finally {
    const lost = sent === 0 ? 0 : Math.round((100 * (sent - rtts.length)) / sent);
    const stats =
      rtts.length === 0
        ? ''
        : `, rtt min/avg/max ${Math.min(...rtts).toFixed(3)}/${(rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(3)}/${Math.max(...rtts).toFixed(3)} ms`;
    ctx.term.print(`${sent} sent, ${rtts.length} received, ${lost}% lost${stats}`);
  }
};

const HELP = [
  'Type a command and press Enter. Keywords may be shortened to any unique prefix,',
  'except commands that change things (commit, delete, reboot, ...), which are typed in full.',
  '  ?            what may come next, at the cursor',
  '  Tab          complete the word at the cursor',
  '  Up/Down      recall earlier commands (also ctrl-p, ctrl-n)',
  '  ctrl-a/e     start/end of line      ctrl-u/k   delete to start/end of line',
  '  ctrl-w       delete the word before the cursor',
  '  ctrl-c       abandon the line, or stop a running command (ping)',
  '  ctrl-l       clear the screen',
  'Quote values that contain spaces: commit comment "new web farm".',
];

const help: Handler = async (ctx) => {
  ctx.term.print(...HELP);
};

const logout: Handler = async (ctx) => {
  ctx.logout();
};

export const operateHandlers: Record<string, Handler> = {
  failover,
  maintenance,
  reboot,
  update,
  ping,
  help,
  logout,
};
