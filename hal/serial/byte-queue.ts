/** A FIFO of bytes kept as the chunks they arrived in: received bytes waiting for read(). */
export class ByteQueue {
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** Removes and returns up to `max` bytes, oldest first, as one new Buffer. */
  take(max: number): Buffer {
    const out = Buffer.allocUnsafe(Math.min(max, this.size));
    let filled = 0;
    while (filled < out.length) {
      const first = this.chunks[0] as Uint8Array;
      const n = Math.min(first.length - this.head, out.length - filled);
      out.set(first.subarray(this.head, this.head + n), filled);
      filled += n;
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.size -= filled;
    return out;
  }

  clear(): void {
    this.chunks.length = 0;
    this.head = 0;
    this.size = 0;
  }
}
