import assert from 'node:assert';
import { closeSync, fdatasync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { open, readdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory } from './fsync-directory';
import {
  encodeJournalHeader,
  JOURNAL_HEADER_BYTES,
  journalFileName,
  parseJournalFileName,
} from './journal-format';

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
/**
 * Groups this large get no zero-fill after them (nor do groups of a whole step, if steps are smaller). Filling
 * writes every byte of the file twice, zeros then records, and holds the inode lock the loop's writes need. Below
 * this, overwriting synced blocks pays (fdatasync with no metadata to commit: 2x the records/s at 100 KiB
 * groups); at 64 KiB adds, whose groups are a few MiB, it cost: bench/bookie-write --only 64k, alternated,
 * 254 / 294 / 268 MB/s and 199-241 us of bookie CPU per add with this bound, against 198 / 225 / 242 MB/s and
 * 279-383 us with the bound at a step (16 MiB); the 1 KiB figures did not move (108-121k against 110-118k).
 */
const FILL_GROUP_BYTES_MAX = 1024 * 1024;

/** Journal files live in `<journalDir>/current/`, beside the cookie (`VERSION`). */
export function journalCurrentDir(journalDir: string): string {
  return join(journalDir, 'current');
}

export interface JournalFileEntry {
  logId: bigint;
  path: string;
}

/** The journal files of a journal directory, oldest (smallest logId) first; none when `current/` is missing. */
export async function listJournalFiles(journalDir: string): Promise<JournalFileEntry[]> {
  const dir = journalCurrentDir(journalDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: JournalFileEntry[] = [];
  for (const name of names) {
    const logId = parseJournalFileName(name);
    if (logId !== undefined) files.push({ logId, path: join(dir, name) });
  }
  return files.sort((a, b) => (a.logId < b.logId ? -1 : a.logId > b.logId ? 1 : 0));
}

export interface JournalFileOptions {
  /** Zero-fill step (journalPreAllocSizeMB). */
  preAllocBytes: number;
  /** No zero-fill beyond this (journalMaxSizeMB); the journal rolls to a new file once past it. */
  maxFileBytes: number;
  /** A background zero-fill failed: the journal must treat it as a failed write. */
  onFillError: (error: Error) => void;
}

/**
 * One journal file being written. Records are written and synced on the event loop (`write`, `sync`; see
 * README.md for why). The file is zero-filled ahead of the write position, in `preAllocBytes` steps, so that
 * records overwrite blocks that are already allocated and on disk: fdatasync then has no size or extent
 * metadata to commit, and replay finds a zero length after the last record.
 *
 * The zero-fill runs in the background on its own file descriptor, up to two steps ahead of the writes. A
 * write that catches up with a fill in progress waits for it (the flush is held back, never more than one
 * fill); a burst larger than a step simply writes past the filled end, growing the file, and the next fill
 * starts from there. Three rules keep it safe:
 *   1. Data is never written into the step being filled (`canWrite`): a late zero write would erase it.
 *   2. The fill has its own descriptor so that its fdatasync cannot consume a writeback error that belongs to
 *      the data descriptor (Linux reports a writeback error once per open file description: the fsyncgate
 *      lesson). Any fill error still fails the journal.
 *   3. A fill starts only after a whole group is written (`fillAhead`), so a group that `canWrite` allowed
 *      as a whole is not cut off halfway by a fill that started after its first chunk.
 */
export class JournalFile {
  /** The next write offset: everything before it has been written (not necessarily synced). */
  position = JOURNAL_HEADER_BYTES;
  /** Everything before this offset is zero-filled or written. */
  private filledEnd: number;
  private fill: Promise<void> | undefined;
  private closing = false;

  private constructor(
    readonly logId: bigint,
    readonly path: string,
    private readonly fd: number,
    private readonly fillHandle: FileHandle,
    private readonly options: JournalFileOptions,
  ) {
    this.filledEnd = Math.max(options.preAllocBytes, JOURNAL_HEADER_BYTES);
  }

  /**
   * Creates `<hex logId>.txn` (it must not exist): header, first zero-filled step, fdatasync, then an fsync of
   * the directory so the file itself survives a crash.
   */
  static async create(currentDir: string, logId: bigint, options: JournalFileOptions): Promise<JournalFile> {
    const path = join(currentDir, journalFileName(logId));
    const fillHandle = await open(path, 'wx');
    try {
      await fillHandle.write(encodeJournalHeader(), 0, JOURNAL_HEADER_BYTES, 0);
      await zeroFill(fillHandle, JOURNAL_HEADER_BYTES, options.preAllocBytes);
      await fillHandle.datasync();
      await fsyncDirectory(currentDir);
      return new JournalFile(logId, path, openSync(path, 'r+'), fillHandle, options);
    } catch (error) {
      await fillHandle.close();
      await unlink(path).catch(() => undefined); // a file with no records; replay would skip it anyway
      throw error;
    }
  }

  /** False while writing `bytes` now would reach into the step the background fill is zeroing. */
  canWrite(bytes: number): boolean {
    return this.fill === undefined || this.position + bytes <= this.filledEnd;
  }

  /** Resolves when the background fill in progress (if any) is done; never rejects. */
  async whenFillDone(): Promise<void> {
    await this.fill;
  }

  /** Writes `length` bytes of `buffer` at the write position. Throws the system error on failure. */
  write(buffer: Buffer, length: number): void {
    assert(this.canWrite(length), 'journal write would overlap the background zero-fill');
    let written = 0;
    while (written < length) {
      const bytes = writeSync(this.fd, buffer, written, length - written, this.position + written);
      if (bytes <= 0) throw new Error(`journal write made no progress at offset ${this.position + written}`);
      written += bytes;
    }
    this.position += length;
    this.filledEnd = Math.max(this.filledEnd, this.position);
  }

  /** fdatasync. Throws the system error on failure; a failure is final (never retried). */
  sync(): void {
    fdatasyncSync(this.fd);
  }

  /**
   * fdatasync on libuv's thread pool; `done` gets the system error, if any. Covers what was written before the
   * call; writes made meanwhile (further on in the file) need the next one. Never two at once: the journal
   * waits for one to finish before it starts the next, and before it closes the file.
   */
  syncInBackground(done: (error: NodeJS.ErrnoException | null) => void): void {
    fdatasync(this.fd, done);
  }

  /** Waits for the background fill, then closes both descriptors. Does not sync. */
  async close(): Promise<void> {
    this.closing = true;
    await this.fill;
    try {
      closeSync(this.fd);
    } finally {
      await this.fillHandle.close();
    }
  }

  /**
   * After a group of `groupBytes` was written: starts zero-filling the next step once less than two steps are
   * left before the filled end. Never called between the writes of one group (which `canWrite` allowed as a
   * whole). Groups of FILL_GROUP_BYTES_MAX (or a step) or more get no fill: the zeros would only double the
   * bytes written (measured: −30% at 64 MiB groups, −20% at the few-MiB groups of 64 KiB adds), while for small
   * groups overwriting synced blocks halves the fdatasync time (measured: 2× the records/s at 100 KiB groups).
   */
  fillAhead(groupBytes: number): void {
    const { preAllocBytes, maxFileBytes } = this.options;
    if (this.fill !== undefined || this.closing) return;
    if (groupBytes >= Math.min(preAllocBytes, FILL_GROUP_BYTES_MAX)) return;
    if (this.filledEnd >= this.position + 2 * preAllocBytes || this.filledEnd >= maxFileBytes) return;
    const from = this.filledEnd;
    const to = from + preAllocBytes;
    this.fill = zeroFill(this.fillHandle, from, to)
      .then(() => this.fillHandle.datasync())
      .then(
        () => {
          // The next fill starts after the next writes: a flush waiting for this one goes first.
          this.fill = undefined;
          this.filledEnd = Math.max(this.filledEnd, to);
        },
        (error: Error) => {
          this.fill = undefined;
          this.closing = true; // no more fills; the journal fails and closes this file
          this.options.onFillError(error);
        },
      );
  }
}

async function zeroFill(handle: FileHandle, from: number, to: number): Promise<void> {
  for (let at = from; at < to;) {
    const { bytesWritten } = await handle.write(ZERO_CHUNK, 0, Math.min(ZERO_CHUNK.length, to - at), at);
    if (bytesWritten <= 0) throw new Error(`journal zero-fill made no progress at offset ${at}`);
    at += bytesWritten;
  }
}
