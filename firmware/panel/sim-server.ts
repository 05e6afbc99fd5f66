/**
 * The simulated panel's socket (sim boards: runtimePaths(board).panelSimSocket), served by the panel
 * process that owns the SimGpioChip. JSON lines, one answer per request (`{"ok":…}` or
 * `{"error":{"code","message"}}`):
 *
 *   {"op":"leds"}                               -> {"ok":{"power":"solid","active":"blink",…}}  as the lines show it
 *   {"op":"patterns"}                           -> {"ok":<PanelSnapshot>}   what the panel means to show, its state
 *   {"op":"lines"}                              -> {"ok":{"led-power":1,…,"button-reset":1}}  physical levels
 *   {"op":"press","button":"failover","ms":200} -> {"ok":{"button":"failover","heldMs":200}}  after the release
 *   {"op":"hold","button":"reset"[,"ms":11000]} -> {"ok":{"button":"reset","held":true}}  at once; released
 *                                                  by "release" (or after ms)
 *   {"op":"release","button":"reset"}           -> {"ok":{"button":"reset","held":false}}
 *
 * A pressed button drives its pin to the pressed level (low for an active-low button); released, it
 * drives the other. `ms` is an integer from 1 to 600000 (press: default 200).
 */
import type { GpioRoles } from '../../board/types.ts';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { SimGpioChip } from '../../hal/gpio/sim.ts';
import type { Level } from '../../hal/gpio/types.ts';
import { type JsonLinesServer, serveJsonLines } from '../runtime/jsonl-server.ts';
import { PanelError } from './errors.ts';
import { LedObserver } from './observe.ts';
import type { PanelSnapshot } from './service.ts';
import { BUTTON_NAMES, type ButtonName } from './types.ts';

export interface SimPanelServerOptions {
  path: string;
  chip: SimGpioChip;
  roles: GpioRoles;
  clock: Clock;
  /** The panel's own view (for `patterns`). */
  snapshot: () => PanelSnapshot;
}

export interface SimPanelServer {
  readonly path: string;
  /** Stops serving; buttons held through the socket are released. */
  close(): Promise<void>;
}

const MAX_MS = 600_000;

export async function serveSimPanel(o: SimPanelServerOptions): Promise<SimPanelServer> {
  const observer = new LedObserver(o.chip, o.roles.leds, o.clock);
  const held = new Map<ButtonName, Timer | undefined>();
  const pending = new Set<{ timer: Timer; done: () => void }>();

  const level = (button: ButtonName, pressed: boolean): Level =>
    (o.roles.buttons[button].activeLow ? !pressed : pressed) ? 1 : 0;
  const press = (button: ButtonName): void => {
    o.chip.drive(o.roles.buttons[button].line, level(button, true));
  };
  const release = (button: ButtonName): void => {
    held.get(button)?.cancel();
    held.delete(button);
    o.chip.drive(o.roles.buttons[button].line, level(button, false));
  };
  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = {
        timer: o.clock.setTimer(ms, () => {
          pending.delete(entry);
          resolve();
        }),
        done: resolve,
      };
      pending.add(entry);
    });

  const handler = async (request: unknown): Promise<unknown> => {
    const r = typeof request === 'object' && request !== null ? (request as Record<string, unknown>) : {};
    switch (r.op) {
      case 'leds':
        return observer.patterns();
      case 'patterns':
        return o.snapshot();
      case 'lines':
        return Object.fromEntries(
          o.chip.lineNames.flatMap((name) => (name === undefined ? [] : [[name, o.chip.level(name)]])),
        );
      case 'press': {
        const button = buttonOf(r.button);
        const ms = msOf(r.ms, 200);
        if (held.has(button)) throw new PanelError('PANEL_BAD_REQUEST', `button ${button} is already held`);
        held.set(button, undefined);
        press(button);
        await wait(ms);
        if (held.has(button)) release(button);
        return { button, heldMs: ms };
      }
      case 'hold': {
        const button = buttonOf(r.button);
        const ms = r.ms === undefined ? undefined : msOf(r.ms, 0);
        if (held.has(button)) throw new PanelError('PANEL_BAD_REQUEST', `button ${button} is already held`);
        held.set(button, ms === undefined ? undefined : o.clock.setTimer(ms, () => release(button)));
        press(button);
        return { button, held: true };
      }
      case 'release': {
        const button = buttonOf(r.button);
        release(button);
        return { button, held: false };
      }
      default:
        throw new PanelError(
          'PANEL_BAD_REQUEST',
          `op should be one of leds, patterns, lines, press, hold, release, got ${JSON.stringify(r.op)}`,
        );
    }
  };

  let server: JsonLinesServer;
  try {
    server = await serveJsonLines(o.path, 'PANEL', handler);
  } catch (err) {
    observer.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    path: server.path,
    close: () => {
      closing ??= (async () => {
        await server.close();
        for (const p of pending) {
          p.timer.cancel();
          p.done();
        }
        pending.clear();
        for (const button of [...held.keys()]) release(button);
        observer.close();
      })();
      return closing;
    },
  };
}

function buttonOf(value: unknown): ButtonName {
  if (typeof value === 'string' && (BUTTON_NAMES as readonly string[]).includes(value))
    return value as ButtonName;
  throw new PanelError(
    'PANEL_BAD_REQUEST',
    `button should be one of ${BUTTON_NAMES.join(', ')}, got ${JSON.stringify(value)}`,
  );
}

function msOf(value: unknown, fallback: number): number {
  if (value === undefined && fallback > 0) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_MS) return value;
  throw new PanelError(
    'PANEL_BAD_REQUEST',
    `ms should be an integer from 1 to ${MAX_MS}, got ${JSON.stringify(value)}`,
  );
}
