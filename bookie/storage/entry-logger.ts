import assert from 'node:assert';
import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  alignedBuffer,
  DIRECT_IO_BLOCK_BYTES,
  openDirect,
  roundUpToBlock,
  writeFully,
  writeFullyInBackground,
} from '../../common';
import type { Logger } from '../../common';
import { EntryLogMetadata } from './entry-log-metadata';
import { EntryLogMissingError, EntryLogReaders, readFully } from './entry-log-readers';
import {
  decodeEntryLogHeader,
  decodeLedgersMap,
  encodeEntryLogHeader,
  encodeLedgersMap,
  ENTRY_LOG_HEADER_BYTES,
  ENTRY_LOG_HEADER_VERSION,
  entryLogFileName,
  LEDGERS_MAP_ENTRY_ID,
  LEDGERS_MAP_LEDGER_ID,
  parseEntryLogFileName,
  RECORD_SIZE_BYTES,
} from './entry-log-format';
import { entryLocation, LOG_ID_MAX, locationLogId, locationOffset } from './entry-location';
import type { EntryLocation } from './entry-location';
import { PACKED_ENTRY_IDS_BYTES, readEntryIdNumber } from './packed-entry-ids';
import { CorruptEntryError, StorageError } from './storage-errors';

/*
 * The entry logs of one ledger directory: `<ledgerDir>/current/<hex logId>.log` (format: entry-log-format.ts).
 *
 * Writing. One log is current. append() copies a record into a 1 MiB write buffer and returns the entry's
 * location at once; full buffers go to the kernel with writeSync (measured faster than the thread pool on this
 * kind of machine, reference performance.md; the caller yields to the event loop between buffers). sync() writes
 * what is buffered and fdatasyncs, on the thread pool since a real disk may take milliseconds. When the current
 * log would pass entryLogSizeLimit it is rotated: its ledgers map is appended, the header is filled in, and it
 * is synced and closed by the next sync(). Only one caller appends at a time (the storage's lock).
 *
 * Direct writes (`directWrites`, where the file system takes O_DIRECT; probed once when the logger opens): the
 * write buffer is page-aligned memory that starts on a block of the file, and its whole blocks go to the device
 * through a second descriptor opened with O_DIRECT, skipping the page cache. On the VMs we run on, a new
 * page-cache page costs 1-2.6 us of CPU per KiB (bookie/journal/README.md, "Direct writes"); perf on a bookie
 * taking 64 KiB adds put 30% of its CPU in the entry logs' copies into the page cache. What is not a whole block
 * goes through the page cache as before: at a sync, the bytes after the last block boundary; after it, the bytes
 * up to the next boundary (the buffer keeps the block they share, so that it stays aligned, but that block is
 * never written twice). So every byte of a log is written once, as in the page-cache path (the header aside,
 * filled in at rotation in both), nothing is written past the last record, and a log is byte for byte what the
 * page-cache path writes. Reads go through the page cache; fdatasync is what makes the writes durable, as before.
 *
 * A log becomes a candidate for garbage collection only after the caller has written the index for everything
 * appended to it (markRotatedLogsIndexed): until then the index may be about to point into it.
 *
 * Reading. Reads are positional, through a bounded set of open read handles. A location is checked against
 * what the log really holds: the size int must be sane and the ledgerId/entryId in the body must be the ones the
 * index promised; otherwise the read fails with CorruptEntryError. Payload bytes are returned as stored (the
 * client's digest is what catches a flipped bit).
 *
 * Opening. Each log's usage comes from its ledgers map, or, for a log without one (the current log when the
 * bookie stopped), from a scan of its records that stops at the first record that cannot be one: a torn tail
 * is never indexed (the index is written only after the log is synced), so it is simply ignored.
 */

const WRITE_BUFFER_BYTES = 1024 * 1024;
const SCAN_CHUNK_BYTES = 1024 * 1024;
/** First read of an entry: its size int and, for most entries, the whole entry. */
const READ_PROBE_BYTES = 4096;
/** Locations carry 32-bit offsets; a log never grows past this, whatever entryLogSizeLimit says. */
const LOG_SIZE_LIMIT_MAX = 2 ** 31;
const LAST_ID_FILE = 'lastId';

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

type LogState =
  /** Being appended to. */
  | 'current'
  /** Rotated (map and header written), waiting for sync(). */
  | 'rotated'
  /** Synced, but the index may not yet know all its entries. */
  | 'unindexed'
  /** Closed for writing and fully indexed: garbage collection may look at it. */
  | 'sealed';

interface EntryLog {
  readonly logId: number;
  readonly metadata: EntryLogMetadata;
  state: LogState;
  /** Bytes that are in the file (handed to the kernel): reads never go past this. */
  readableBytes: number;
  /** Where its records end (the ledgers map or the end of the file). */
  recordsEnd: number;
}

interface LogWriter {
  readonly log: EntryLog;
  readonly fd: number;
  /**
   * Direct mode: a descriptor opened with O_DIRECT, for the buffer's whole blocks. The write buffer then always
   * starts on a block boundary (size - buffered), and may begin with bytes already in the file.
   */
  readonly directFd: number | undefined;
  /** Logical end of the log, buffered bytes included. */
  size: number;
  /**
   * Bytes handed to the kernel, written or (direct mode) being written in the background: the file holds
   * [0, handed) once the background write is done. The log's readableBytes catches up when it is.
   */
  handed: number;
  /** Bytes in the write buffer: the log's bytes from size - buffered to size. */
  buffered: number;
}

/** One record found by a scan; `start`/`length` index into the chunk's bytes. */
export interface ScannedEntry {
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  readonly location: EntryLocation;
  readonly start: number;
  readonly length: number;
}

export interface ScannedChunk {
  readonly bytes: Buffer;
  readonly entries: ScannedEntry[];
}

/** What listEntryLogs reports for one log. */
export interface EntryLogStatus {
  readonly logId: number;
  readonly fileName: string;
  readonly sizeBytes: number;
  readonly totalBytes: number;
  readonly remainingBytes: number;
  readonly usage: number;
  readonly liveLedgers: number;
  readonly current: boolean;
}

export interface EntryLoggerOptions {
  /** `<ledgerDir>/current` */
  dir: string;
  entryLogSizeLimit: number;
  /** The largest packed entry a record may hold; a size int above it is corruption. */
  entryBytesMax: number;
  logger: Logger;
  /** Write with O_DIRECT where the file system takes it (entryLogDirectWrites). */
  directWrites?: boolean;
}

const DIRECT_PROBE_FILE = 'directio.probe';

export class EntryLogger {
  private readonly logs = new Map<number, EntryLog>();
  private readonly readers: EntryLogReaders;
  private current: LogWriter | undefined;
  private readonly rotated: LogWriter[] = [];
  /** The buffer appends fill. */
  private writeBuffer: Buffer;
  /**
   * Direct mode: the second buffer, while no background write holds it. A full buffer's whole blocks are written
   * on the thread pool (the device takes about 1 ms per MiB, which the event loop need not wait out) while
   * appends fill the other one; when both are busy a buffer is written synchronously, as in page-cache mode.
   */
  private spareBuffer: Buffer | undefined;
  /** Direct mode: the background write in progress, and the log it writes to. */
  private pendingWrite: { readonly writer: LogWriter; readonly done: Promise<void> } | undefined;
  /** A background write failed: the next write or sync fails with this error (see throwWriteFailure). */
  private writeFailure: Error | undefined;
  private readonly sizeBuffer = Buffer.alloc(RECORD_SIZE_BYTES);
  private readonly sizeLimit: number;
  private nextLogId: number;
  private directoryDirty = false;

  private constructor(
    private readonly options: EntryLoggerOptions,
    private readonly logger: Logger,
    lastLogId: number,
    /** Logs are written with O_DIRECT (asked for, and the file system takes it). */
    private readonly direct: boolean,
  ) {
    this.sizeLimit = Math.min(options.entryLogSizeLimit, LOG_SIZE_LIMIT_MAX);
    this.writeBuffer = direct
      ? alignedBuffer(WRITE_BUFFER_BYTES)
      : Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
    this.spareBuffer = direct ? alignedBuffer(WRITE_BUFFER_BYTES) : undefined;
    this.readers = new EntryLogReaders(
      (logId) => this.path(logId),
      (logId) => this.logs.has(logId),
    );
    this.nextLogId = lastLogId + 1;
  }

  /** Opens the directory (creating it), reading each log's ledgers map or scanning logs without one. */
  static async open(options: EntryLoggerOptions): Promise<EntryLogger> {
    mkdirSync(options.dir, { recursive: true });
    const logger = options.logger.child({ component: 'entry-logger' });
    const logIds: number[] = [];
    for (const name of readdirSync(options.dir)) {
      const logId = parseEntryLogFileName(name);
      if (logId === undefined) continue;
      if (logId > LOG_ID_MAX) {
        logger.warn({ file: name }, 'ignoring an entry log whose id is beyond the location range');
        continue;
      }
      logIds.push(logId);
    }
    logIds.sort((a, b) => a - b);
    const lastLogId = Math.max(readLastLogId(options.dir), logIds.at(-1) ?? -1);
    const direct = options.directWrites === true && takesDirectWrites(options.dir);
    if (options.directWrites === true && !direct) {
      logger.warn(
        { dir: options.dir },
        'the file system refuses O_DIRECT; entry logs go through the page cache',
      );
    }
    const entryLogger = new EntryLogger(options, logger, lastLogId, direct);
    for (const logId of logIds) await entryLogger.loadLog(logId);
    return entryLogger;
  }

  private path(logId: number): string {
    return join(this.options.dir, entryLogFileName(logId));
  }

  private async loadLog(logId: number): Promise<void> {
    const path = this.path(logId);
    const fileBytes = statSync(path).size;
    const log: EntryLog = {
      logId,
      metadata: new EntryLogMetadata(logId),
      state: 'sealed',
      readableBytes: fileBytes,
      recordsEnd: fileBytes,
    };
    if (fileBytes < ENTRY_LOG_HEADER_BYTES) {
      // Created, then the bookie stopped before the header reached the file: it holds nothing.
      this.logs.set(logId, log);
      return;
    }
    const header = Buffer.alloc(ENTRY_LOG_HEADER_BYTES);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, header, 0, ENTRY_LOG_HEADER_BYTES, 0);
      let decoded;
      try {
        decoded = decodeEntryLogHeader(header);
      } catch (err) {
        // One damaged byte in the header must not cost the log's entries: the index still knows where they are
        // and every read checks the entry it finds, so the log is kept and scanned like one without a map.
        this.logger.warn({ logId, err }, 'entry log has a bad header; scanning it');
      }
      if (decoded !== undefined && decoded.ledgersMapOffset > 0) {
        try {
          const mapBytes = Buffer.alloc(Math.max(0, fileBytes - decoded.ledgersMapOffset));
          readSync(fd, mapBytes, 0, mapBytes.length, decoded.ledgersMapOffset);
          const ledgers = decodeLedgersMap(mapBytes, decoded.ledgersCount);
          this.logs.set(logId, {
            ...log,
            metadata: EntryLogMetadata.fromLedgersMap(logId, ledgers),
            recordsEnd: decoded.ledgersMapOffset,
          });
          return;
        } catch (err) {
          this.logger.warn({ logId, err }, 'entry log has a bad ledgers map; scanning it');
        }
      }
    } finally {
      closeSync(fd);
    }
    this.logs.set(logId, log);
    const end = await this.scanForMetadata(log);
    log.recordsEnd = end;
    if (end < fileBytes) {
      this.logger.warn({ logId, validBytes: end, fileBytes }, 'entry log ends in a torn tail; ignoring it');
    }
  }

  /** Rebuilds a log's usage from its records; returns where the valid records end. */
  private async scanForMetadata(log: EntryLog): Promise<number> {
    let end = ENTRY_LOG_HEADER_BYTES;
    await this.scan(log.logId, (chunk) => {
      for (const entry of chunk.entries) {
        log.metadata.add(entry.ledgerId, RECORD_SIZE_BYTES + entry.length);
        end = locationOffset(entry.location) + entry.length;
      }
    });
    return end;
  }

  // ---- writing ----

  /**
   * Appends one record (the packed entry at source[start, start+length)) to the current log, rotating first if
   * it would pass the size limit, and returns its location. Durable only after sync().
   */
  append(ledgerId: bigint, source: Buffer, start: number, length: number): EntryLocation {
    assert(
      length >= PACKED_ENTRY_IDS_BYTES && length <= this.options.entryBytesMax,
      'entry size out of range',
    );
    const recordBytes = RECORD_SIZE_BYTES + length;
    let writer = this.current;
    if (
      writer !== undefined &&
      writer.size > ENTRY_LOG_HEADER_BYTES &&
      writer.size + recordBytes > this.sizeLimit
    ) {
      this.rotate(writer);
      writer = undefined;
    }
    writer ??= this.createLog();
    const offset = writer.size + RECORD_SIZE_BYTES;
    try {
      if (writer.buffered + recordBytes > this.writeBuffer.length) this.writeBuffered(writer, false);
      if (writer.buffered + recordBytes <= this.writeBuffer.length) {
        this.writeBuffer.writeInt32BE(length, writer.buffered);
        source.copy(this.writeBuffer, writer.buffered + RECORD_SIZE_BYTES, start, start + length);
        writer.buffered += recordBytes;
        writer.size += recordBytes;
      } else if (writer.directFd !== undefined) {
        this.sizeBuffer.writeInt32BE(length, 0);
        this.stageInPieces(writer, this.sizeBuffer, 0, RECORD_SIZE_BYTES);
        this.stageInPieces(writer, source, start, length);
      } else {
        this.sizeBuffer.writeInt32BE(length, 0);
        writeFully(writer.fd, this.sizeBuffer, 0, RECORD_SIZE_BYTES, writer.size);
        writeFully(writer.fd, source, start, length, offset);
        writer.size += recordBytes;
        this.handedOver(writer, writer.size);
      }
    } catch (err) {
      this.abandonCurrent();
      throw err;
    }
    writer.log.recordsEnd = writer.size;
    writer.log.metadata.add(ledgerId, recordBytes);
    return entryLocation(writer.log.logId, offset);
  }

  /**
   * Makes everything appended so far durable: writes the buffer, fdatasyncs the current log and the logs rotated
   * since the last sync, closes the rotated ones. On failure the current log is abandoned (a new one is started
   * by the next append): nothing appended since the last successful sync may be trusted.
   */
  async sync(): Promise<void> {
    try {
      await this.pendingWrite?.done;
      this.throwWriteFailure();
      const writer = this.current;
      if (writer !== undefined) this.writeBuffered(writer, true);
      const writers = writer === undefined ? [...this.rotated] : [...this.rotated, writer];
      await Promise.all(writers.map((w) => fdatasyncAsync(w.fd)));
      if (this.directoryDirty) {
        // A new log's directory entry must be durable before the index points into the file.
        const dirFd = openSync(this.options.dir, 'r');
        try {
          await fsyncAsync(dirFd);
        } finally {
          closeSync(dirFd);
        }
        this.directoryDirty = false;
      }
    } catch (err) {
      this.abandonCurrent();
      this.closeRotated();
      throw err;
    }
    this.closeRotated();
  }

  /**
   * Resolves once no background write is in progress. An appender that waits for this between stretches of
   * appends (less than a buffer each) finds the spare buffer free whenever one fills, so no write blocks it.
   */
  writesSettled(): Promise<void> {
    return this.pendingWrite?.done ?? Promise.resolve();
  }

  /** Whether logs are written with O_DIRECT (asked for, and the file system takes it). */
  get writesDirect(): boolean {
    return this.direct;
  }

  /** The caller has indexed everything appended so far: logs rotated before now may be collected. */
  markRotatedLogsIndexed(): void {
    for (const log of this.logs.values()) if (log.state === 'unindexed') log.state = 'sealed';
  }

  private createLog(): LogWriter {
    for (;;) {
      if (this.nextLogId > LOG_ID_MAX) this.nextLogId = this.lowestFreeLogId();
      const logId = this.nextLogId++;
      // lastId first: if it cannot be written, no file is left behind. It keeps ids from being reused after
      // the newest log is deleted (a stale location can then never name a new log).
      writeFileSync(join(this.options.dir, LAST_ID_FILE), logId.toString(16));
      const path = this.path(logId);
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      this.directoryDirty = true;
      let directFd: number | undefined;
      try {
        directFd = this.direct ? openSync(path, constants.O_WRONLY | constants.O_DIRECT) : undefined;
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      const log: EntryLog = {
        logId,
        metadata: new EntryLogMetadata(logId),
        state: 'current',
        readableBytes: 0,
        recordsEnd: ENTRY_LOG_HEADER_BYTES,
      };
      this.logs.set(logId, log);
      const header = encodeEntryLogHeader({
        version: ENTRY_LOG_HEADER_VERSION,
        ledgersMapOffset: 0,
        ledgersCount: 0,
      });
      header.copy(this.writeBuffer, 0);
      this.current = {
        log,
        fd,
        directFd,
        size: ENTRY_LOG_HEADER_BYTES,
        handed: 0,
        buffered: ENTRY_LOG_HEADER_BYTES,
      };
      this.logger.info({ logId, direct: this.direct }, 'created entry log');
      return this.current;
    }
  }

  private lowestFreeLogId(): number {
    for (let logId = 0; logId <= LOG_ID_MAX; logId++) {
      if (!this.logs.has(logId) && !existsSync(this.path(logId))) return logId;
    }
    throw new StorageError('EntryLogIdsExhausted', 'every entry log id is in use');
  }

  /**
   * Hands the buffered bytes to the file. In direct mode the whole blocks among them go with O_DIRECT (in the
   * background when the spare buffer is free and this is not `final`) and the bytes before the first block
   * boundary through the page cache; so do the bytes after the last boundary if `final` (a sync or rotation),
   * otherwise they stay buffered for a later whole block.
   */
  private writeBuffered(writer: LogWriter, final: boolean): void {
    if (writer.buffered === 0) return;
    const base = writer.size - writer.buffered;
    if (writer.directFd === undefined) {
      writeFully(writer.fd, this.writeBuffer, 0, writer.buffered, base);
      writer.buffered = 0;
      this.handedOver(writer, writer.size);
      return;
    }
    this.throwWriteFailure();
    // The buffer holds [base, end), base on a block boundary; the file has (or is being given) [base, from).
    const from = writer.handed;
    const end = writer.size;
    const wholeEnd = end - (end % DIRECT_IO_BLOCK_BYTES);
    if (from >= end || (!final && wholeEnd <= from)) return;
    const headEnd = Math.min(roundUpToBlock(from), end);
    const filled = this.writeBuffer;
    if (headEnd > from) writeFully(writer.fd, filled, from - base, headEnd - from, from);
    if (wholeEnd > headEnd) {
      // Not a log's first block: rotation rewrites its header through the page cache, and a direct write of that
      // block still in flight could land after it.
      if (!final && headEnd > 0 && this.spareBuffer !== undefined) {
        this.writeInBackground(writer, filled, headEnd - base, wholeEnd - headEnd, headEnd);
        this.writeBuffer = this.spareBuffer;
        this.spareBuffer = undefined;
      } else {
        writeFully(writer.directFd, filled, headEnd - base, wholeEnd - headEnd, headEnd);
      }
    }
    const written = final ? end : Math.max(headEnd, wholeEnd);
    if (written > Math.max(headEnd, wholeEnd)) {
      const tailFrom = Math.max(headEnd, wholeEnd);
      writeFully(writer.fd, filled, tailFrom - base, written - tailFrom, tailFrom);
    }
    this.handedOver(writer, written);
    // Keep the block the next write continues in, so that the buffer still starts on a block boundary.
    const keepFrom = written - (written % DIRECT_IO_BLOCK_BYTES);
    filled.copy(this.writeBuffer, 0, keepFrom - base, end - base);
    writer.buffered = end - keepFrom;
  }

  /** Direct mode: the whole blocks buffer[start, start+length) to `position` on the thread pool. */
  private writeInBackground(
    writer: LogWriter,
    buffer: Buffer,
    start: number,
    length: number,
    position: number,
  ): void {
    const done = new Promise<void>((resolve) => {
      writeFullyInBackground(writer.directFd!, buffer, start, length, position, (error) => {
        this.pendingWrite = undefined;
        this.spareBuffer = buffer;
        // What was handed over meanwhile went synchronously: with this write, the file has all of it.
        if (error === null) writer.log.readableBytes = writer.handed;
        else this.writeFailure ??= error;
        resolve();
      });
    });
    this.pendingWrite = { writer, done };
  }

  /** The file has (or is being given) the log's bytes up to `bytes`; readable once no background write is due. */
  private handedOver(writer: LogWriter, bytes: number): void {
    writer.handed = bytes;
    if (this.pendingWrite?.writer !== writer) writer.log.readableBytes = bytes;
  }

  /**
   * A background write failed: fails as a synchronous write would have, abandoning the current log and the
   * rotated ones (nothing written since the last sync may be trusted).
   */
  private throwWriteFailure(): void {
    const failure = this.writeFailure;
    if (failure === undefined) return;
    this.writeFailure = undefined;
    this.abandonCurrent();
    this.closeRotated();
    throw failure;
  }

  /** Direct mode: bytes that do not fit the buffer's free space go through it a bufferful at a time. */
  private stageInPieces(writer: LogWriter, source: Buffer, start: number, length: number): void {
    for (let done = 0; done < length;) {
      if (writer.buffered === this.writeBuffer.length) this.writeBuffered(writer, false);
      const piece = Math.min(length - done, this.writeBuffer.length - writer.buffered);
      source.copy(this.writeBuffer, writer.buffered, start + done, start + done + piece);
      writer.buffered += piece;
      writer.size += piece;
      done += piece;
    }
  }

  /** Ends the current log: ledgers map, then the header that points at it. Synced by the next sync(). */
  private rotate(writer: LogWriter): void {
    try {
      const metadata = writer.log.metadata;
      const map = encodeLedgersMap(metadata.appendedLedgers);
      const mapOffset = writer.size;
      const header = encodeEntryLogHeader({
        version: ENTRY_LOG_HEADER_VERSION,
        ledgersMapOffset: mapOffset,
        ledgersCount: metadata.appendedLedgers.size,
      });
      if (writer.directFd !== undefined) {
        this.stageInPieces(writer, map, 0, map.length);
        this.writeBuffered(writer, true);
        writer.buffered = 0;
      } else {
        this.writeBuffered(writer, true);
        writeFully(writer.fd, map, 0, map.length, mapOffset);
      }
      writeFully(writer.fd, header, 0, header.length, 0);
      this.handedOver(writer, mapOffset + map.length);
    } catch (err) {
      this.abandonCurrent();
      throw err;
    }
    writer.log.state = 'rotated';
    this.rotated.push(writer);
    this.current = undefined;
    this.logger.info({ logId: writer.log.logId, bytes: writer.size }, 'rotated entry log');
  }

  private closeRotated(): void {
    for (const writer of this.rotated.splice(0)) {
      this.release(writer);
      writer.log.state = 'unindexed';
    }
  }

  /** Stops writing to the current log after an I/O error; it stays readable, without a ledgers map. */
  private abandonCurrent(): void {
    const writer = this.current;
    if (writer === undefined) return;
    this.current = undefined;
    this.release(writer);
    writer.log.state = 'unindexed';
    this.logger.warn({ logId: writer.log.logId }, 'abandoned the current entry log after an I/O error');
  }

  /** Closes a writer's descriptors, once a background write to it (if any) is done with them. */
  private release(writer: LogWriter): void {
    const pending = this.pendingWrite;
    if (pending?.writer === writer) void pending.done.then(() => closeWriter(writer));
    else closeWriter(writer);
  }

  // ---- reading ----

  /** The packed entry at `location`, checked to be (ledgerId, entryId). */
  async readEntry(location: EntryLocation, ledgerId: bigint, entryId: number): Promise<Buffer> {
    const logId = locationLogId(location);
    const offset = locationOffset(location);
    const log = this.logs.get(logId);
    if (log === undefined) throw new EntryLogMissingError(logId);
    const corrupt = (why: string): CorruptEntryError =>
      new CorruptEntryError(`entry ${ledgerId}/${entryId} at ${entryLogFileName(logId)}:${offset}: ${why}`);
    if (offset < ENTRY_LOG_HEADER_BYTES + RECORD_SIZE_BYTES || offset >= log.recordsEnd) {
      throw corrupt('location outside the log');
    }
    return this.readers.read(logId, async (handle) => {
      const probeBytes = Math.min(READ_PROBE_BYTES, log.readableBytes - offset + RECORD_SIZE_BYTES);
      if (probeBytes < RECORD_SIZE_BYTES + PACKED_ENTRY_IDS_BYTES)
        throw corrupt('location past the written bytes');
      const probe = Buffer.allocUnsafe(probeBytes);
      const probed = await readFully(handle, probe, 0, probeBytes, offset - RECORD_SIZE_BYTES);
      if (probed < RECORD_SIZE_BYTES) throw corrupt('short read');
      const size = probe.readInt32BE(0);
      if (
        size < PACKED_ENTRY_IDS_BYTES ||
        size > this.options.entryBytesMax ||
        offset + size > log.recordsEnd
      ) {
        throw corrupt(`bad size ${size}`);
      }
      const entry = Buffer.allocUnsafe(size);
      const fromProbe = Math.min(size, probed - RECORD_SIZE_BYTES);
      probe.copy(entry, 0, RECORD_SIZE_BYTES, RECORD_SIZE_BYTES + fromProbe);
      if (fromProbe < size) {
        const read = await readFully(handle, entry, fromProbe, size - fromProbe, offset + fromProbe);
        if (read < size - fromProbe) throw corrupt('short read');
      }
      if (entry.readBigInt64BE(0) !== ledgerId || readEntryIdNumber(entry, 8) !== entryId) {
        throw corrupt(`holds ${entry.readBigInt64BE(0)}/${entry.readBigInt64BE(8)}`);
      }
      return entry;
    });
  }

  /** Up to `length` bytes of a log from `position` (fewer at the end of what it holds). */
  async readBlock(logId: number, position: number, length: number): Promise<Buffer> {
    const log = this.logs.get(logId);
    if (log === undefined) throw new EntryLogMissingError(logId);
    const wanted = Math.max(0, Math.min(length, log.readableBytes - position));
    return this.readers.read(logId, async (handle) => {
      const block = Buffer.allocUnsafe(wanted);
      const read = await readFully(handle, block, 0, wanted, position);
      return read === wanted ? block : block.subarray(0, read);
    });
  }

  /**
   * Hands the records of a log to `onChunk` in order, a chunk at a time, up to its ledgers map or the first
   * record that cannot be one (a torn tail, or corruption). Ledgers-map batches are skipped; entries are views
   * into the chunk's bytes. Resolves true if the scan reached the end of the log's records.
   */
  async scan(logId: number, onChunk: (chunk: ScannedChunk) => void | Promise<void>): Promise<boolean> {
    const log = this.logs.get(logId);
    if (log === undefined) throw new EntryLogMissingError(logId);
    const end = Math.min(log.recordsEnd, log.readableBytes);
    const isRecordSize = (size: number, at: number): boolean =>
      size >= PACKED_ENTRY_IDS_BYTES &&
      size <= this.options.entryBytesMax &&
      at + RECORD_SIZE_BYTES + size <= end;
    let position = ENTRY_LOG_HEADER_BYTES;
    while (position < end) {
      let bytes = await this.readBlock(logId, position, Math.min(SCAN_CHUNK_BYTES, end - position));
      if (bytes.length >= RECORD_SIZE_BYTES) {
        const size = bytes.readInt32BE(0);
        // A record larger than a chunk: read exactly it.
        if (isRecordSize(size, position) && RECORD_SIZE_BYTES + size > bytes.length) {
          bytes = await this.readBlock(logId, position, RECORD_SIZE_BYTES + size);
        }
      }
      const entries: ScannedEntry[] = [];
      let at = 0;
      while (at + RECORD_SIZE_BYTES <= bytes.length) {
        const size = bytes.readInt32BE(at);
        if (!isRecordSize(size, position + at) || at + RECORD_SIZE_BYTES + size > bytes.length) break;
        const start = at + RECORD_SIZE_BYTES;
        const ledgerId = bytes.readBigInt64BE(start);
        const entryId = bytes.readBigInt64BE(start + 8);
        if (ledgerId !== LEDGERS_MAP_LEDGER_ID || entryId !== LEDGERS_MAP_ENTRY_ID) {
          entries.push({
            ledgerId,
            entryId,
            location: entryLocation(logId, position + start),
            start,
            length: size,
          });
        }
        at = start + size;
      }
      if (entries.length > 0) await onChunk({ bytes, entries });
      // Nothing parsable where a record should start: a torn tail or corruption ends the scan.
      if (at === 0) return false;
      position += at;
    }
    return position === end;
  }

  // ---- garbage collection ----

  /** Logs that garbage collection may consider: closed for writing and fully indexed. */
  collectableLogs(): EntryLogMetadata[] {
    return [...this.logs.values()].filter((log) => log.state === 'sealed').map((log) => log.metadata);
  }

  /** A deleted ledger's bytes become garbage in every log. */
  removeLedger(ledgerId: bigint): void {
    for (const log of this.logs.values()) log.metadata.removeLedger(ledgerId);
  }

  /** Deletes a sealed log's file. The caller has made sure the index no longer points into it. */
  deleteLog(logId: number): number {
    const log = this.logs.get(logId);
    assert(log !== undefined && log.state === 'sealed', 'only a sealed entry log may be deleted');
    try {
      unlinkSync(this.path(logId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Reads already holding the handle finish on the unlinked file; later ones find the log gone and retry.
    this.logs.delete(logId);
    this.readers.retire(logId);
    this.logger.info({ logId, bytes: log.readableBytes }, 'deleted entry log');
    return log.readableBytes;
  }

  status(): EntryLogStatus[] {
    return [...this.logs.values()]
      .sort((a, b) => a.logId - b.logId)
      .map((log) => ({
        logId: log.logId,
        fileName: entryLogFileName(log.logId),
        sizeBytes: log.state === 'current' ? (this.current?.size ?? 0) : log.readableBytes,
        totalBytes: log.metadata.totalBytes,
        remainingBytes: log.metadata.remainingBytes,
        usage: log.metadata.usage,
        liveLedgers: log.metadata.liveLedgerCount,
        current: log.state === 'current',
      }));
  }

  /**
   * Seals the current log (ledgers map, header) so the next open need not scan it, syncs, and closes every
   * handle. Appending after close is a bug.
   */
  async close(): Promise<void> {
    if (this.current !== undefined) this.rotate(this.current);
    await this.sync();
    this.readers.retireAll();
  }
}

function readLastLogId(dir: string): number {
  try {
    const text = readFileSync(join(dir, LAST_ID_FILE), 'latin1').trim();
    return /^[0-9a-f]{1,8}$/.test(text) ? Math.min(Number.parseInt(text, 16), LOG_ID_MAX) : -1;
  } catch {
    return -1;
  }
}

/**
 * Whether files in `dir` can be written with O_DIRECT: a block of a scratch file written that way (tmpfs refuses
 * the open, some devices an unaligned-to-them write).
 */
function takesDirectWrites(dir: string): boolean {
  const path = join(dir, DIRECT_PROBE_FILE);
  closeSync(openSync(path, 'w'));
  try {
    const fd = openDirect(path, (probe) =>
      writeFully(probe, alignedBuffer(DIRECT_IO_BLOCK_BYTES), 0, DIRECT_IO_BLOCK_BYTES, 0),
    );
    if (fd === undefined) return false;
    closeSync(fd);
    return true;
  } finally {
    unlinkSync(path);
  }
}

function closeWriter(writer: LogWriter): void {
  closeQuietly(writer.fd);
  if (writer.directFd !== undefined) closeQuietly(writer.directFd);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closing after a failed write: the descriptor is gone either way.
  }
}
