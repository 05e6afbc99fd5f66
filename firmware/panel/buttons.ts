/**
 * The two buttons as pure state machines of (state, event, now) → (state, actions). Events carry the
 * debounced edge's timestamp; `tick` is the deadline of `resetDeadline` passing.
 *
 * failover: a press shorter than FAILOVER_MAX_MS asks for a graceful switchover when released; a longer
 *   one is ignored (a finger resting on the button must not move the VIPs).
 * reset: holding it RESET_HOLD_MS starts the confirmation (every LED fast-blinks for RESET_CONFIRM_MS),
 *   then the factory reset is requested. Releasing before RESET_HOLD_MS cancels; once the confirmation
 *   has started, releasing does not (the operator has seen it and let go).
 */

export const FAILOVER_MAX_MS = 2000;
export const RESET_HOLD_MS = 10_000;
export const RESET_CONFIRM_MS = 3000;

export type ButtonEvent =
  | { readonly type: 'press'; readonly at: number }
  | { readonly type: 'release'; readonly at: number }
  | { readonly type: 'tick' };

export interface FailoverState {
  /** When the press began, or undefined while released. */
  readonly pressedAt: number | undefined;
}

export type FailoverAction =
  | { readonly type: 'failover'; readonly heldMs: number }
  | { readonly type: 'ignored'; readonly heldMs: number };

export const FAILOVER_IDLE: FailoverState = { pressedAt: undefined };

export function failoverStep(
  state: FailoverState,
  event: ButtonEvent,
): { state: FailoverState; actions: FailoverAction[] } {
  if (event.type === 'press') return { state: { pressedAt: event.at }, actions: [] };
  if (event.type === 'tick' || state.pressedAt === undefined) return { state, actions: [] };
  const heldMs = Math.max(0, event.at - state.pressedAt);
  return {
    state: FAILOVER_IDLE,
    actions: [{ type: heldMs < FAILOVER_MAX_MS ? 'failover' : 'ignored', heldMs }],
  };
}

export type ResetState =
  | { readonly phase: 'idle' }
  | { readonly phase: 'holding'; readonly since: number }
  | { readonly phase: 'confirming'; readonly until: number };

export type ResetAction =
  /** The hold reached RESET_HOLD_MS: show the confirmation pattern. */
  | { readonly type: 'confirm' }
  /** Released too early: nothing happens. */
  | { readonly type: 'canceled'; readonly heldMs: number }
  /** The confirmation has played: request the factory reset. */
  | { readonly type: 'factory-reset' };

export const RESET_IDLE: ResetState = { phase: 'idle' };

export function resetStep(
  state: ResetState,
  event: ButtonEvent,
  now: number,
): { state: ResetState; actions: ResetAction[] } {
  switch (state.phase) {
    case 'idle':
      return event.type === 'press'
        ? { state: { phase: 'holding', since: event.at }, actions: [] }
        : { state, actions: [] };
    case 'holding':
      if (event.type === 'release') {
        return {
          state: RESET_IDLE,
          actions: [{ type: 'canceled', heldMs: Math.max(0, event.at - state.since) }],
        };
      }
      if (event.type === 'tick' && now >= state.since + RESET_HOLD_MS) {
        return {
          state: { phase: 'confirming', until: now + RESET_CONFIRM_MS },
          actions: [{ type: 'confirm' }],
        };
      }
      return { state, actions: [] };
    case 'confirming':
      if (event.type === 'tick' && now >= state.until) {
        return { state: RESET_IDLE, actions: [{ type: 'factory-reset' }] };
      }
      return { state, actions: [] };
  }
}

/** When a `tick` would move the reset machine on, or undefined when nothing is pending. */
export function resetDeadline(state: ResetState): number | undefined {
  if (state.phase === 'holding') return state.since + RESET_HOLD_MS;
  if (state.phase === 'confirming') return state.until;
  return undefined;
}
