/**
 * Records waiting to be written, encoded back to back into 1 MiB chunks that are reused from group to group,
 * so an append copies its bytes once and allocates nothing. A record larger than a chunk gets a buffer of
 * its own (such records are rare: at most nettyMaxFrameSizeBytes).
 */
export class JournalWriteBuffer {
  static readonly CHUNK_BYTES = 1024 * 1024;
  /** Chunks kept for reuse between groups; the rest are left to the garbage collector. */
  private static readonly POOLED_CHUNKS_MAX = 4;

  /** Bytes buffered, over all chunks. */
  bytes = 0;
  /** Where in the chunk returned by the last `reserve` the reserved bytes start. */
  reservedAt = 0;
  private readonly chunks: Buffer[] = [];
  private readonly usedBytes: number[] = [];
  private readonly pool: Buffer[] = [];

  /** Reserves `length` contiguous bytes and returns the chunk holding them, at `reservedAt`. */
  reserve(length: number): Buffer {
    const last = this.chunks.length - 1;
    let chunk = this.chunks[last];
    if (chunk === undefined || this.usedBytes[last]! + length > chunk.length) {
      chunk =
        length <= JournalWriteBuffer.CHUNK_BYTES
          ? (this.pool.pop() ?? Buffer.allocUnsafe(JournalWriteBuffer.CHUNK_BYTES))
          : Buffer.allocUnsafe(length);
      this.chunks.push(chunk);
      this.usedBytes.push(0);
    }
    const index = this.chunks.length - 1;
    this.reservedAt = this.usedBytes[index]!;
    this.usedBytes[index] = this.reservedAt + length;
    this.bytes += length;
    return chunk;
  }

  /**
   * Hands each chunk's used bytes to `write`, in order, then empties the buffer (also when `write` throws: the
   * journal has failed then and the bytes are abandoned).
   */
  drainTo(write: (chunk: Buffer, length: number) => void): void {
    try {
      for (let i = 0; i < this.chunks.length; i++) write(this.chunks[i]!, this.usedBytes[i]!);
    } finally {
      for (const chunk of this.chunks) {
        const reusable = chunk.length === JournalWriteBuffer.CHUNK_BYTES;
        if (reusable && this.pool.length < JournalWriteBuffer.POOLED_CHUNKS_MAX) this.pool.push(chunk);
      }
      this.chunks.length = 0;
      this.usedBytes.length = 0;
      this.bytes = 0;
    }
  }
}
