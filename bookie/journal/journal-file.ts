import assert from 'node:assert';
import { closeSync, constants, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { open, readdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { alignedBuffer, openDirect, writeFully, writeFullyInBackground } from '../../common';
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

/**
 * A background fill writes zeros at most this many times as fast as records are written to the file: each chunk
 * after the first waits until the writes since the fill began reach 1/FILL_PACE of the zeros written. A step
 * written at the device's full speed (16 MiB in 30-40 ms) made every fdatasync of the journal wait meanwhile,
 * 10-20 ms instead of 3-5: under three bookies at 47,000 appends/s every slow window of the clients' adds (the
 * p99) fell inside one. The fill starts with one to two steps of room, so at twice the write rate it is done
 * before the writes reach it; a writer that does catch up hurries it (`whenFillDone`).
 */
const FILL_PACE = 2;

/** Bytes a group is gathered in for its O_DIRECT write; a larger group is written in pieces as they fill. */
const DIRECT_STAGING_BYTES = 8 * 1024 * 1024;
/** The zeros of an O_DIRECT fill, and a file's header block: page-aligned memory, made on first use. */
let directZeros: Buffer | undefined;
let directHeader: Buffer | undefined;

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
  /** Write records and zeros with O_DIRECT where the file system takes it (journalDirectWrites). */
  direct: boolean;
  /** journalAlignmentSize: every group ends on such a boundary (padding), so direct writes can be whole blocks. */
  alignmentBytes: number;
}

/**
 * One journal file being written. Records are written and synced on the event loop (`write`, `sync`; see
 * README.md for why). The file is zero-filled ahead of the write position, in `preAllocBytes` steps, so that
 * records overwrite blocks that are already allocated and on disk: fdatasync then has no size or extent
 * metadata to commit, and replay finds a zero length after the last record.
 *
 * The zero-fill runs in the background on its own file descriptor, up to two steps ahead of the writes and
 * paced to them (FILL_PACE). A write that catches up with a fill in progress waits for it, and the fill stops
 * pausing (the flush is held back, never more than one fill); a burst larger than a step simply writes past the
 * filled end, growing the file, and the next fill starts from there. Three rules keep it safe:
 *   1. Data is never written into the step being filled (`canWrite`): a late zero write would erase it.
 *   2. The fill has its own descriptor so that its fdatasync cannot consume a writeback error that belongs to
 *      the data descriptor (Linux reports a writeback error once per open file description: the fsyncgate
 *      lesson). Any fill error still fails the journal.
 *   3. A fill starts only after a whole group is written (`fillAhead`), so a group that `canWrite` allowed
 *      as a whole is not cut off halfway by a fill that started after its first chunk.
 *
 * Direct writes (`options.direct`, where the file system accepts O_DIRECT): records and zeros go from aligned
 * memory straight to the device instead of through the page cache. On the VMs we run on, writing new data into
 * the page cache costs 1-2.6 us of CPU per KiB (the guest's free memory is handed back to the host, and every
 * new page-cache page is a first touch): at 64 KiB adds that copy was 61% of the bookie's CPU (perf), and an
 * O_DIRECT write of a 4 MiB group costs ~0.07 ms of CPU against ~5-10 ms. A direct write takes whole blocks
 * from aligned memory, so the bytes of a group are gathered in `staging` and written once the group is whole
 * (the journal pads every group to journalAlignmentSize and writes no part of a group early in this mode); a
 * group larger than the staging buffer is written in aligned pieces, its unaligned tail carried over.
 * fdatasync is still what makes the records durable (the device's write cache), exactly as before.
 */
export class JournalFile {
  /** The next write offset: everything before it has been written (not necessarily synced). */
  position = JOURNAL_HEADER_BYTES;
  /** Everything before this offset is zero-filled or written. */
  private filledEnd: number;
  private fill: Promise<void> | undefined;
  /** The paced fill waits here for the next write (or to be hurried). */
  private wakeFill: (() => void) | undefined;
  /** Someone waits for the fill in progress: it writes its zeros without pausing. */
  private fillHurried = false;
  private closing = false;
  /** Direct mode: bytes of the group being written, not yet on disk; they belong at `stagedAt`. */
  private readonly staging: Buffer | undefined;
  private staged = 0;
  private stagedAt = JOURNAL_HEADER_BYTES;
  /** Direct mode: the staged bytes are being written on the thread pool; nothing may be staged meanwhile. */
  private writingStaged = false;

  private constructor(
    readonly logId: bigint,
    readonly path: string,
    private readonly fd: number,
    private readonly fillHandle: FileHandle,
    private readonly options: JournalFileOptions,
    direct: boolean,
  ) {
    this.filledEnd = Math.max(options.preAllocBytes, JOURNAL_HEADER_BYTES);
    if (direct) this.staging = alignedBuffer(DIRECT_STAGING_BYTES);
  }

  /** Records are written with O_DIRECT (see the class comment). */
  get direct(): boolean {
    return this.staging !== undefined;
  }

  /**
   * Creates `<hex logId>.txn` (it must not exist): header, first zero-filled step, fdatasync, then an fsync of
   * the directory so the file itself survives a crash. In direct mode the header is written with O_DIRECT
   * first: if the file system or the device refuses that, the file is written through the page cache instead.
   */
  static async create(currentDir: string, logId: bigint, options: JournalFileOptions): Promise<JournalFile> {
    const path = join(currentDir, journalFileName(logId));
    const created = await open(path, 'wx');
    let fillHandle = created;
    let fd: number | undefined;
    try {
      fd = options.direct ? openDirectWithHeader(path) : undefined;
      const direct = fd !== undefined;
      if (direct) {
        await created.close();
        fillHandle = await open(path, constants.O_RDWR | constants.O_DIRECT);
      } else {
        await created.write(encodeJournalHeader(), 0, JOURNAL_HEADER_BYTES, 0);
      }
      await zeroFill(fillHandle, JOURNAL_HEADER_BYTES, options.preAllocBytes, direct);
      await fillHandle.datasync();
      await fsyncDirectory(currentDir);
      fd ??= openSync(path, 'r+');
      return new JournalFile(logId, path, fd, fillHandle, options, direct);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      await fillHandle.close();
      await unlink(path).catch(() => undefined); // a file with no records; replay would skip it anyway
      throw error;
    }
  }

  /** False while writing `bytes` now would reach into the step the background fill is zeroing. */
  canWrite(bytes: number): boolean {
    return this.fill === undefined || this.position + bytes <= this.filledEnd;
  }

  /** Resolves when the background fill in progress (if any) is done, hurrying it; never rejects. */
  async whenFillDone(): Promise<void> {
    this.fillHurried = true; // a fill started later begins unhurried
    this.nudgeFill();
    await this.fill;
  }

  /** The paced fill re-checks its pace (after a write, or when hurried). */
  private nudgeFill(): void {
    const wake = this.wakeFill;
    this.wakeFill = undefined;
    wake?.();
  }

  /**
   * Writes `length` bytes of `buffer` at the write position. Throws the system error on failure. In direct
   * mode the bytes are gathered (see `stage`) and reach the disk with `writeStaged` or `writeAndSyncInBackground`.
   */
  write(buffer: Buffer, length: number): void {
    assert(this.canWrite(length), 'journal write would overlap the background zero-fill');
    if (this.staging === undefined) writeFully(this.fd, buffer, 0, length, this.position);
    else this.stage(this.staging, buffer, length);
    this.position += length;
    this.filledEnd = Math.max(this.filledEnd, this.position);
  }

  /**
   * Direct mode: gathers `length` bytes of `buffer`. Only a group larger than the staging buffer is written
   * from here, in whole blocks as the buffer fills (the unaligned rest carried over); the rest of a group goes
   * out after its padding, with `writeStaged` or `writeAndSyncInBackground`.
   */
  private stage(staging: Buffer, buffer: Buffer, length: number): void {
    assert(!this.writingStaged, 'journal write while the staged group is being written');
    for (let from = 0; from < length;) {
      const n = Math.min(length - from, staging.length - this.staged);
      buffer.copy(staging, this.staged, from, from + n);
      this.staged += n;
      from += n;
      if (this.staged < staging.length) continue;
      const whole = this.staged - (this.staged % this.options.alignmentBytes);
      writeFully(this.fd, staging, 0, whole, this.stagedAt);
      this.stagedAt += whole;
      staging.copy(staging, 0, whole, this.staged);
      this.staged -= whole;
    }
  }

  /** Direct mode: writes what is staged (a padded group ends on a block, so all of it) on the event loop. */
  writeStaged(): void {
    if (this.staging === undefined || this.staged === 0) return;
    this.assertStagedWhole();
    writeFully(this.fd, this.staging, 0, this.staged, this.stagedAt);
    this.stagedAt += this.staged;
    this.staged = 0;
  }

  private assertStagedWhole(): void {
    assert(
      !this.writingStaged && this.staged % this.options.alignmentBytes === 0,
      'journal group not padded to whole blocks',
    );
  }

  /** fdatasync, after writing what is staged. Throws the system error on failure; a failure is final. */
  sync(): void {
    this.writeStaged();
    fdatasyncSync(this.fd);
  }

  /**
   * Writes what is staged (direct mode) and fdatasyncs, both on libuv's thread pool: `onWritten` runs once the
   * bytes are written (at once when nothing is staged), `done` gets the system error, if any, and whether the
   * write got through. Covers what was written before; writes made meanwhile (further on) need the next one.
   * Never two at once: the journal waits for one to finish before it starts the next, and before it closes the
   * file, and writes nothing to the file meanwhile.
   */
  writeAndSyncInBackground(
    onWritten: () => void,
    done: (error: NodeJS.ErrnoException | null, written: boolean) => void,
  ): void {
    const sync = (): void => fdatasync(this.fd, (error) => done(error, true));
    const staging = this.staging;
    if (staging === undefined || this.staged === 0) {
      onWritten();
      sync();
      return;
    }
    this.assertStagedWhole();
    const length = this.staged;
    this.writingStaged = true;
    writeFullyInBackground(this.fd, staging, 0, length, this.stagedAt, (error) => {
      this.writingStaged = false;
      if (error !== null) {
        done(error, false);
        return;
      }
      this.stagedAt += length;
      this.staged = 0;
      onWritten();
      sync();
    });
  }

  /**
   * The pace of a fill from `from` (FILL_PACE): it writes on past `at` once the records written since it began
   * reach (at − from) / FILL_PACE, or at once when hurried. A file being closed takes no more records, so its
   * fill stops there.
   */
  private fillPace(from: number): FillPace {
    const startPosition = this.position;
    return async (at) => {
      while (!this.fillHurried && !this.closing && at - from > FILL_PACE * (this.position - startPosition)) {
        await new Promise<void>((resolve) => (this.wakeFill = resolve));
      }
      return !this.closing;
    };
  }

  /** Waits for the background fill, then closes both descriptors. Does not sync. */
  async close(): Promise<void> {
    this.closing = true;
    this.nudgeFill();
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
    this.nudgeFill();
    if (this.fill !== undefined || this.closing) return;
    if (groupBytes >= Math.min(preAllocBytes, FILL_GROUP_BYTES_MAX)) return;
    if (this.filledEnd >= this.position + 2 * preAllocBytes || this.filledEnd >= maxFileBytes) return;
    const from = this.filledEnd;
    const to = from + preAllocBytes;
    this.fillHurried = false;
    this.fill = zeroFill(this.fillHandle, from, to, this.direct, this.fillPace(from))
      .then(async (whole) => {
        if (whole) await this.fillHandle.datasync();
        return whole;
      })
      .then(
        (whole) => {
          // The next fill starts after the next writes: a flush waiting for this one goes first.
          this.fill = undefined;
          if (whole) this.filledEnd = Math.max(this.filledEnd, to);
        },
        (error: Error) => {
          this.fill = undefined;
          this.closing = true; // no more fills; the journal fails and closes this file
          this.options.onFillError(error);
        },
      );
  }
}

/**
 * Called by a fill before each chunk after the first with the offset it has reached; resolves when it may go
 * on, with false when it is to stop there.
 */
type FillPace = (at: number) => Promise<boolean>;

/**
 * Opens `path` (just created) with O_DIRECT and writes the journal header through it; undefined when the file
 * system refuses O_DIRECT (tmpfs: EINVAL at open) or the device refuses a 512-byte direct write (a disk with
 * larger logical blocks), so the caller writes through the page cache instead.
 */
function openDirectWithHeader(path: string): number | undefined {
  return openDirect(path, (fd) => {
    if (directHeader === undefined) {
      directHeader = alignedBuffer(JOURNAL_HEADER_BYTES);
      encodeJournalHeader().copy(directHeader);
    }
    writeFully(fd, directHeader, 0, JOURNAL_HEADER_BYTES, 0);
  });
}

async function zeroFill(
  handle: FileHandle,
  from: number,
  to: number,
  direct: boolean,
  pace?: FillPace,
): Promise<boolean> {
  const zeros = direct ? (directZeros ??= alignedBuffer(ZERO_CHUNK.length)) : ZERO_CHUNK;
  for (let at = from; at < to;) {
    if (at > from && pace !== undefined && !(await pace(at))) return false;
    const { bytesWritten } = await handle.write(zeros, 0, Math.min(zeros.length, to - at), at);
    if (bytesWritten <= 0) throw new Error(`journal zero-fill made no progress at offset ${at}`);
    at += bytesWritten;
  }
  return true;
}
