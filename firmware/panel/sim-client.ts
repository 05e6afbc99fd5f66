/**
 * A client of the simulated panel's socket (sim-server.ts), for tests, the demo and
 * `tandem sim panel <node> leds|press failover|hold reset`. Every call rejects with a PanelError:
 * PANEL_UNREACHABLE when the panel does not answer, PANEL_REFUSED (message from the panel) otherwise.
 */
import { controlCall } from './appliance.ts';
import type { PanelSnapshot } from './service.ts';
import type { ButtonName, LedPatterns } from './types.ts';

export interface SimPanelClient {
  /** The LED patterns as the lines show them. */
  leds(): Promise<LedPatterns>;
  /** What the panel itself means to show, and its state. */
  patterns(): Promise<PanelSnapshot>;
  /** Every named line's physical level. */
  lines(): Promise<Record<string, 0 | 1>>;
  /** Presses `button` for `ms` (default 200) and resolves after the release. */
  press(button: ButtonName, ms?: number): Promise<void>;
  /** Holds `button` down until `release` (or for `ms`); resolves at once. */
  hold(button: ButtonName, ms?: number): Promise<void>;
  release(button: ButtonName): Promise<void>;
}

export function simPanelClient(path: string, options: { timeoutMs?: number } = {}): SimPanelClient {
  const timeoutMs = options.timeoutMs ?? 2000;
  const call = (request: Record<string, unknown>, extraMs = 0): Promise<unknown> =>
    controlCall('the simulated panel', path, request, timeoutMs + extraMs);
  return {
    leds: async () => (await call({ op: 'leds' })) as LedPatterns,
    patterns: async () => (await call({ op: 'patterns' })) as PanelSnapshot,
    lines: async () => (await call({ op: 'lines' })) as Record<string, 0 | 1>,
    press: async (button, ms = 200) => {
      await call({ op: 'press', button, ms }, ms);
    },
    hold: async (button, ms) => {
      await call({ op: 'hold', button, ...(ms === undefined ? {} : { ms }) });
    },
    release: async (button) => {
      await call({ op: 'release', button });
    },
  };
}
