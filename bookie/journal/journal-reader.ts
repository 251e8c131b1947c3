import type { FileHandle } from 'node:fs/promises';

const READ_CHUNK_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(READ_CHUNK_BYTES);

/**
 * Sequential reads of one journal file for replay. `bytes(n)` returns the next n bytes as a view; each refill
 * reads into a fresh buffer, so views handed out earlier (entries given to the replay visitor) stay valid.
 * Reads never allocate more than the caller asked for plus one chunk; the caller bounds `n`.
 */
export class JournalReader {
  private buffer = Buffer.alloc(0);
  private start = 0;
  /** File offset of `buffer[0]`. */
  private bufferOffset: number;

  constructor(
    private readonly handle: FileHandle,
    readonly fileBytes: number,
    offset: number,
  ) {
    this.bufferOffset = offset;
  }

  /** File offset of the next byte `bytes` returns. */
  get offset(): number {
    return this.bufferOffset + this.start;
  }

  get remaining(): number {
    return this.fileBytes - this.offset;
  }

  /** The next `n` bytes, or undefined (nothing consumed) when the file ends first. */
  async bytes(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const view = this.buffer.subarray(this.start, this.start + n);
    this.start += n;
    return view;
  }

  /** Whether every byte from here to the end of the file is zero; consumes them. */
  async restIsZero(): Promise<boolean> {
    while (this.remaining > 0) {
      const n = Math.min(this.remaining, READ_CHUNK_BYTES);
      const chunk = await this.bytes(n);
      if (chunk === undefined || !chunk.equals(ZEROS.subarray(0, n))) return false;
    }
    return true;
  }

  /** Makes `n` bytes available from `start`; false when the file ends first. */
  private async fill(n: number): Promise<boolean> {
    const available = this.buffer.length - this.start;
    if (available >= n) return true;
    if (available + this.remainingAfterBuffer() < n) return false;
    const next = Buffer.allocUnsafe(
      Math.max(n, Math.min(READ_CHUNK_BYTES, available + this.remainingAfterBuffer())),
    );
    this.buffer.copy(next, 0, this.start);
    let filled = available;
    const readFrom = this.bufferOffset + this.buffer.length;
    while (filled < n) {
      const { bytesRead } = await this.handle.read(
        next,
        filled,
        next.length - filled,
        readFrom + filled - available,
      );
      if (bytesRead === 0) break; // the file shrank under us: treat as its end
      filled += bytesRead;
    }
    this.bufferOffset += this.start;
    this.buffer = next.subarray(0, filled);
    this.start = 0;
    return filled >= n;
  }

  private remainingAfterBuffer(): number {
    return this.fileBytes - (this.bufferOffset + this.buffer.length);
  }
}
