import { open as openFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { entryLogFileName } from './entry-log-format';
import { StorageError } from './storage-errors';

/** Open read handles kept at most; the least recently used idle ones are closed beyond this. */
const READ_HANDLES_MAX = 64;

/** A read found the log gone: GC deleted it after the caller read the index. The caller looks again. */
export class EntryLogMissingError extends StorageError {
  constructor(readonly logId: number) {
    super('EntryLogMissing', `entry log ${entryLogFileName(logId)} does not exist`, { retriable: true });
  }
}

interface ReadHandle {
  readonly handle: Promise<FileHandle>;
  users: number;
  retired: boolean;
}

/**
 * The read handles of a directory's entry logs. A handle is never closed under a read in flight: retiring it
 * (its log deleted, or evicted as least recently used) closes it when its last read ends. Reads of a deleted
 * log that already hold the handle finish on the unlinked file; later ones get EntryLogMissingError.
 */
export class EntryLogReaders {
  private readonly handles = new Map<number, ReadHandle>();

  constructor(
    private readonly pathOf: (logId: number) => string,
    private readonly isKnown: (logId: number) => boolean,
  ) {}

  async read<T>(logId: number, read: (handle: FileHandle) => Promise<T>): Promise<T> {
    let reader = this.handles.get(logId);
    if (reader === undefined) {
      const handle = openFile(this.pathOf(logId), 'r');
      // Unobserved until awaited below; a failed open is reported there.
      handle.catch(() => undefined);
      reader = { handle, users: 0, retired: false };
      this.handles.set(logId, reader);
      this.evictIdle();
    } else {
      // Map order is recency order: move to the back.
      this.handles.delete(logId);
      this.handles.set(logId, reader);
    }
    reader.users++;
    try {
      return await read(await reader.handle);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EBADF' || !this.isKnown(logId)) {
        if (this.handles.get(logId) === reader) this.retire(logId);
        throw new EntryLogMissingError(logId);
      }
      throw err;
    } finally {
      reader.users--;
      if (reader.retired && reader.users === 0) void closeHandle(reader);
    }
  }

  /** Closes the log's handle, now or when its last read ends. */
  retire(logId: number): void {
    const reader = this.handles.get(logId);
    if (reader === undefined) return;
    this.handles.delete(logId);
    reader.retired = true;
    if (reader.users === 0) void closeHandle(reader);
  }

  retireAll(): void {
    for (const logId of [...this.handles.keys()]) this.retire(logId);
  }

  private evictIdle(): void {
    for (const [logId, reader] of this.handles) {
      if (this.handles.size <= READ_HANDLES_MAX) return;
      if (reader.users === 0) this.retire(logId);
    }
  }
}

/** Reads until `length` bytes or the end of the file; returns how many were read. */
export async function readFully(
  handle: FileHandle,
  target: Buffer,
  start: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(target, start + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function closeHandle(reader: ReadHandle): Promise<void> {
  try {
    await (await reader.handle).close();
  } catch {
    // Never opened (the file was already gone) or already closed.
  }
}
