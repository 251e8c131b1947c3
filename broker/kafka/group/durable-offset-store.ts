import { LedgerlineError } from '../../../common';
import type { Logger } from '../../../common';
import type {
  ManagedCursor,
  ManagedLedger,
  ManagedLedgerConfig,
  ManagedLedgerFactory,
  Position,
} from '../../../managed-ledger';
import { applyOffsets, readOffsets } from './offset-store';
import type { CommittedOffset, OffsetMap, OffsetStore } from './offset-store';

/**
 * Committed offsets kept in BookKeeper through one managed ledger, as Kafka (and KoP) keep them in the topic
 * `__consumer_offsets`: every OffsetCommit is appended as one entry, and `commit` resolves only once the managed
 * ledger has acknowledged it. On open the entries are replayed into a map, which `fetch` reads.
 *
 * Trim: after `snapshotEveryRecords` commits the whole map is written as a snapshot (one or more entries, written
 * back to back while new commits wait) and the durable cursor `snapshot` is marked deleted just before it, so the
 * ledgers holding only older entries can go (the managed ledger is opened with retention 0/0; a ledger goes once it
 * is closed, i.e. after a rollover: `managedLedgerMaxEntriesPerLedger`, `managedLedgerMaxLedgerRolloverTimeMinutes`).
 * Replay starts after the cursor's mark-delete, i.e. at the last snapshot (earlier when the cursor's latest
 * position was not yet persisted, which is harmless: replaying more entries in order gives the same map).
 *
 * Entry format (all integers big-endian):
 *
 *   entry    := version u8 (= 1) | kind u8 | body
 *   kind 1   := commit:         groups                 (one group: the offsets of one OffsetCommit)
 *   kind 2   := snapshot chunk: index u32 | count u32 | groups
 *   groups   := n u32 | group{n}
 *   group    := groupId str16 | n u32 | offset{n}
 *   offset   := topic str16 | partition i32 | offset i64 | metadata str32
 *   str16    := length u16 | UTF-8 bytes;  str32 := length u32 | UTF-8 bytes
 *
 * A snapshot is chunks 0..count-1 in consecutive entries; replay replaces the map with it only once every chunk
 * was read (a snapshot cut short by a failed write is ignored, and the commits after it apply as usual).
 */

export interface DurableOffsetStoreOptions {
  /** Commits after which the whole map is written as a snapshot and the older entries let go (default 1000). */
  snapshotEveryRecords?: number;
  /** Bytes of offset records per snapshot entry at most (default 1 MiB; one record larger goes alone). */
  snapshotChunkBytes?: number;
  /** Settings of this managed ledger over the factory's defaults (retention is 0/0 unless given here). */
  managedLedgerConfig?: Partial<ManagedLedgerConfig>;
}

export type OffsetStoreErrorCode = 'OffsetStoreClosed' | 'CorruptOffsetEntry' | 'InvalidOffsetCommit';

export class OffsetStoreError extends LedgerlineError {
  declare readonly code: OffsetStoreErrorCode;

  constructor(
    code: OffsetStoreErrorCode,
    message: string,
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/** The durable cursor whose mark-delete sits just before the latest complete snapshot. */
export const SNAPSHOT_CURSOR = 'snapshot';
const FORMAT_VERSION = 1;
const KIND_COMMIT = 1;
const KIND_SNAPSHOT = 2;
const REPLAY_BATCH = 100;
const SNAPSHOT_EVERY_RECORDS_DEFAULT = 1000;
const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;

type GroupOffsets = [groupId: string, offsets: readonly CommittedOffset[]];

export class DurableOffsetStore implements OffsetStore {
  private offsets: OffsetMap = new Map();
  private readonly snapshotEveryRecords: number;
  private readonly snapshotChunkBytes: number;
  private recordsSinceSnapshot = 0;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private snapshotting: Promise<void> | undefined;
  /** Commits made while a snapshot is being written: started, in order, once it is. */
  private held: (() => void)[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly ml: ManagedLedger,
    private readonly cursor: ManagedCursor,
    private readonly logger: Logger,
    options: DurableOffsetStoreOptions,
  ) {
    this.snapshotEveryRecords = Math.max(1, options.snapshotEveryRecords ?? SNAPSHOT_EVERY_RECORDS_DEFAULT);
    this.snapshotChunkBytes = Math.max(1, options.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES_DEFAULT);
  }

  /**
   * Opens (or creates) the managed ledger `name` through `factory`, which fences any previous owner, and replays
   * it. Rejects when it cannot be read or holds an entry that is not in the format above.
   */
  static async open(
    factory: ManagedLedgerFactory,
    name: string,
    logger: Logger,
    options: DurableOffsetStoreOptions = {},
  ): Promise<DurableOffsetStore> {
    const ml = await factory.open(name, {
      defaultRetentionTimeInMinutes: 0,
      defaultRetentionSizeInMB: 0,
      ...options.managedLedgerConfig,
    });
    try {
      const cursor = await ml.openCursor(SNAPSHOT_CURSOR, { initialPosition: 'earliest' });
      cursor.setInactive();
      const store = new DurableOffsetStore(
        ml,
        cursor,
        logger.child({ component: 'kafka-offset-store' }),
        options,
      );
      await store.replay();
      return store;
    } catch (error) {
      await ml.close().catch(() => undefined);
      throw error;
    }
  }

  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(closedError());
    const copies = offsets.map((o) => ({ ...o }));
    let data: Buffer;
    try {
      data = encodeEntry(KIND_COMMIT, [[groupId, copies]]);
    } catch (error) {
      return Promise.reject(error);
    }
    // Every commit's promise is chained the same way, held or not, so they also resolve in the order made.
    return new Promise<void>((resolve, reject) => {
      const start = (): void => void this.append(groupId, copies, data).then(resolve, reject);
      if (this.snapshotting === undefined) start();
      else this.held.push(start);
    });
  }

  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    if (this.closing !== undefined) return Promise.reject(closedError());
    return Promise.resolve(readOffsets(this.offsets, groupId, topics));
  }

  /** Groups with committed offsets (the coordinator starts knowing them; admin). */
  groupIds(): string[] {
    return [...this.offsets.keys()];
  }

  /**
   * Writes a snapshot of every committed offset now (also done every `snapshotEveryRecords` commits) and lets
   * the entries before it go. Resolves when written (a failure is logged: the entries stay and still replay).
   */
  snapshot(): Promise<void> {
    this.snapshotting ??= this.writeSnapshot().finally(() => {
      this.snapshotting = undefined;
      for (const start of this.held.splice(0)) start();
    });
    return this.snapshotting;
  }

  /** Waits for the commits in flight and any snapshot, then closes the managed ledger. Later calls reject. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.snapshotting;
      await this.whenIdle();
      await this.ml.close();
    })();
    return this.closing;
  }

  private async append(groupId: string, offsets: CommittedOffset[], data: Buffer): Promise<void> {
    if (this.closing !== undefined) throw closedError();
    this.inFlight++;
    try {
      await this.ml.addEntry(data);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
    applyOffsets(this.offsets, groupId, offsets);
    this.recordsSinceSnapshot++;
    if (this.recordsSinceSnapshot >= this.snapshotEveryRecords && this.closing === undefined)
      void this.snapshot();
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async writeSnapshot(): Promise<void> {
    try {
      // With nothing in flight (new commits are held) the map is exactly what the stored entries say.
      await this.whenIdle();
      const chunks = encodeSnapshot(this.offsets, this.snapshotChunkBytes);
      // Added in one go, so the chunks are consecutive entries.
      const positions = await Promise.all(chunks.map((chunk) => this.ml.addEntry(chunk)));
      this.recordsSinceSnapshot = 0;
      this.markDeleteBefore(positions[0]!);
    } catch (error) {
      this.logger.warn({ err: error }, 'kafka offset snapshot not written; older entries kept');
    }
  }

  private markDeleteBefore(snapshotStart: Position): void {
    this.cursor.markDelete(this.ml.getPreviousPosition(snapshotStart)).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'kafka offset snapshot cursor not moved; older entries kept');
    });
  }

  private async replay(): Promise<void> {
    let pending: { map: OffsetMap; next: number; count: number } | undefined;
    let entries = 0;
    for (;;) {
      const batch = await this.cursor.readEntries(REPLAY_BATCH);
      if (batch.length === 0) break;
      for (const entry of batch) {
        entries++;
        const decoded = decodeEntry(entry.data, entry.position);
        if (decoded.kind === KIND_COMMIT) {
          pending = undefined;
          for (const [groupId, offsets] of decoded.groups) applyOffsets(this.offsets, groupId, offsets);
          this.recordsSinceSnapshot++;
          continue;
        }
        if (decoded.index === 0) pending = { map: new Map(), next: 0, count: decoded.count };
        if (pending === undefined || decoded.index !== pending.next || decoded.count !== pending.count) {
          pending = undefined;
          continue;
        }
        for (const [groupId, offsets] of decoded.groups) applyOffsets(pending.map, groupId, offsets);
        pending.next++;
        if (pending.next === pending.count) {
          this.offsets = pending.map;
          this.recordsSinceSnapshot = 0;
          pending = undefined;
        }
      }
    }
    this.logger.info(
      { entries, groups: this.offsets.size, commitsSinceSnapshot: this.recordsSinceSnapshot },
      'kafka committed offsets replayed',
    );
    if (this.recordsSinceSnapshot >= this.snapshotEveryRecords) await this.snapshot();
  }
}

function closedError(): OffsetStoreError {
  return new OffsetStoreError('OffsetStoreClosed', 'the Kafka offset store is closed', { retriable: true });
}

// ---- entry format ----

const STR16_MAX = 0xffff;

function str16(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > STR16_MAX) {
    throw new OffsetStoreError(
      'InvalidOffsetCommit',
      `${what} of ${bytes.length} bytes: at most ${STR16_MAX}`,
    );
  }
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function encodeOffset(o: CommittedOffset): Buffer {
  const topic = str16(o.topic, 'topic name');
  const metadata = Buffer.from(o.metadata, 'utf8');
  const fixed = Buffer.allocUnsafe(4 + 8 + 4);
  fixed.writeInt32BE(o.partition, 0);
  fixed.writeBigInt64BE(o.offset, 4);
  fixed.writeUInt32BE(metadata.length, 12);
  return Buffer.concat([topic, fixed, metadata]);
}

function u32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(n, 0);
  return out;
}

function encodeGroups(groups: readonly (readonly [string, readonly Buffer[]])[]): Buffer[] {
  const parts: Buffer[] = [u32(groups.length)];
  for (const [groupId, records] of groups)
    parts.push(str16(groupId, 'group id'), u32(records.length), ...records);
  return parts;
}

/** One commit entry (the tests use it to write entries by hand). */
export function encodeEntry(kind: typeof KIND_COMMIT, groups: readonly GroupOffsets[]): Buffer {
  const parts = encodeGroups(
    groups.map(([groupId, offsets]) => [groupId, offsets.map(encodeOffset)] as const),
  );
  return Buffer.concat([Buffer.from([FORMAT_VERSION, kind]), ...parts]);
}

/** The whole map as snapshot chunks of about `chunkBytes` of records each (at least one chunk). */
function encodeSnapshot(map: OffsetMap, chunkBytes: number): Buffer[] {
  const bodies: (readonly [string, Buffer[]])[][] = [];
  let current: (readonly [string, Buffer[]])[] = [];
  let bytes = 0;
  for (const [groupId, topics] of map) {
    let records: Buffer[] = [];
    current.push([groupId, records]);
    for (const partitions of topics.values()) {
      for (const committed of partitions.values()) {
        const record = encodeOffset(committed);
        if (bytes > 0 && bytes + record.length > chunkBytes) {
          if (records.length === 0) current.pop();
          bodies.push(current);
          records = [];
          current = [[groupId, records]];
          bytes = 0;
        }
        records.push(record);
        bytes += record.length;
      }
    }
  }
  bodies.push(current);
  return bodies.map((groups, index) => {
    const header = Buffer.allocUnsafe(10);
    header.writeUInt8(FORMAT_VERSION, 0);
    header.writeUInt8(KIND_SNAPSHOT, 1);
    header.writeUInt32BE(index, 2);
    header.writeUInt32BE(bodies.length, 6);
    return Buffer.concat([header, ...encodeGroups(groups)]);
  });
}

type DecodedEntry =
  | { kind: typeof KIND_COMMIT; groups: GroupOffsets[] }
  | { kind: typeof KIND_SNAPSHOT; index: number; count: number; groups: GroupOffsets[] };

/** Reads one entry; any byte out of place throws OffsetStoreError CorruptOffsetEntry naming the position. */
export function decodeEntry(data: Buffer, position: Position | string): DecodedEntry {
  let at = 0;
  const corrupt = (why: string): OffsetStoreError =>
    new OffsetStoreError('CorruptOffsetEntry', `Kafka offset entry ${String(position)}: ${why}`);
  const need = (n: number, what: string): void => {
    if (at + n > data.length) throw corrupt(`${what} past the end (${data.length} bytes)`);
  };
  const readU8 = (what: string): number => (need(1, what), data.readUInt8(at++));
  const readU32 = (what: string): number => {
    need(4, what);
    const n = data.readUInt32BE(at);
    at += 4;
    return n;
  };
  const readString = (lengthBytes: 2 | 4, what: string): string => {
    need(lengthBytes, what);
    const n = lengthBytes === 2 ? data.readUInt16BE(at) : data.readUInt32BE(at);
    at += lengthBytes;
    need(n, what);
    const text = data.toString('utf8', at, at + n);
    at += n;
    return text;
  };
  const version = readU8('version');
  if (version !== FORMAT_VERSION) throw corrupt(`version ${version}, expected ${FORMAT_VERSION}`);
  const kind = readU8('kind');
  if (kind !== KIND_COMMIT && kind !== KIND_SNAPSHOT) throw corrupt(`unknown kind ${kind}`);
  const index = kind === KIND_SNAPSHOT ? readU32('chunk index') : 0;
  const count = kind === KIND_SNAPSHOT ? readU32('chunk count') : 1;
  if (index >= count) throw corrupt(`chunk ${index} of ${count}`);
  const groups: GroupOffsets[] = [];
  const groupCount = readU32('group count');
  // Every group takes at least 6 bytes and every offset at least 18: counts are checked before looping.
  if (groupCount * 6 > data.length - at) throw corrupt(`${groupCount} groups cannot fit`);
  for (let g = 0; g < groupCount; g++) {
    const groupId = readString(2, 'group id');
    const n = readU32('offset count');
    if (n * 18 > data.length - at) throw corrupt(`${n} offsets cannot fit`);
    const offsets: CommittedOffset[] = [];
    for (let i = 0; i < n; i++) {
      const topic = readString(2, 'topic');
      need(12, 'partition and offset');
      const partition = data.readInt32BE(at);
      const offset = data.readBigInt64BE(at + 4);
      at += 12;
      const metadata = readString(4, 'metadata');
      offsets.push({ topic, partition, offset, metadata });
    }
    groups.push([groupId, offsets]);
  }
  if (at !== data.length) throw corrupt(`${data.length - at} bytes after the last group`);
  return kind === KIND_COMMIT ? { kind, groups } : { kind, index, count, groups };
}
