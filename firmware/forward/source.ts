/**
 * Where the forwarding service gets its desired state from. The journal implements this (the services,
 * real servers and their health rows); tests and the bench use MemoryForwardingSource.
 */
export interface ForwardingSource {
  /** The desired forwarding state as stored, not yet validated (the service runs parseDesired on it). */
  current(): unknown | Promise<unknown>;
  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  subscribe(listener: () => void): () => void;
}

/** A desired state held in memory: set() replaces it and tells the subscribers. */
export class MemoryForwardingSource implements ForwardingSource {
  private readonly listeners = new Set<() => void>();

  constructor(private value: unknown = { services: [] }) {}

  current(): unknown {
    return this.value;
  }

  set(value: unknown): void {
    this.value = value;
    for (const listener of [...this.listeners]) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
