import type { Logger } from '../../common';
import { isBKError } from '../../ledger-client';
import type { CreateLedgerOptions, WriteHandle } from '../../ledger-client';
import type { CursorHost } from '../cursor-host';
import { ManagedLedgerError, isManagedLedgerError } from '../errors';
import type { Versioned } from '../meta-store';
import { decodePositionInfo } from '../ml-data-formats';
import type { ManagedCursorInfo, MessageRange } from '../ml-data-formats';
import type { Position } from '../position';
import { encodePositionInfoFast } from './position-info-encoder';

/** What a durable cursor persists: its mark-delete, the ranges acknowledged beyond it, and their properties. */
export interface CursorSnapshot {
  markDelete: Position;
  /** The first `limit` individually deleted ranges. */
  ranges(limit: number): MessageRange[];
  properties: Map<string, bigint>;
  cursorProperties: Map<string, string>;
}

/** The state a cursor comes back with, before it is clamped to the managed ledger. */
export interface RecoveredCursorState {
  markDelete: Position | undefined;
  ranges: MessageRange[];
  properties: Map<string, bigint>;
  cursorProperties: Map<string, string>;
  /** Where it was read from: the last PositionInfo of the cursor ledger, or the metadata node's snapshot. */
  source: 'ledger' | 'node';
}

/** The cursor ledger's id in ManagedCursorInfo when the position lives in the node itself. */
export const NO_CURSOR_LEDGER = -1n;

const RESOLVED: Promise<void> = Promise.resolve();

/** BookKeeper's digest names for broker.conf's managedLedgerDigestType (Pulsar says MAC where BookKeeper says HMAC). */
function digestType(name: string): CreateLedgerOptions['digestType'] {
  const upper = name.toUpperCase();
  return (upper === 'MAC' ? 'HMAC' : upper) as CreateLedgerOptions['digestType'];
}

/**
 * Where a durable cursor's position goes, as Pulsar's ManagedCursorImpl keeps it:
 *
 * - Each persist appends one PositionInfo (mark-delete, up to managedLedgerMaxUnackedRangesToPersist ranges,
 *   properties) to the cursor's own ledger; the ManagedCursorInfo node at `/managed-ledgers/<ml>/<cursor>`
 *   names that ledger (cursorsLedgerId) and keeps a snapshot of the position.
 * - The ledger is created on the first persist after open (state "NoLedger"), and replaced once it holds
 *   managedLedgerCursorMaxEntriesPerLedger entries or is managedLedgerCursorRolloverTimeInSeconds old: the new
 *   ledger gets the current position first, then the node is switched to it by compare-and-set, then the old
 *   ledger is closed and deleted. A crash between two steps leaves the node naming a readable ledger.
 * - When the append (or the creation of a new ledger) fails, the position and up to
 *   managedLedgerMaxUnackedRangesToPersistInMetadataStore ranges are written into the node with
 *   cursorsLedgerId -1; the next persist tries a new ledger again.
 * - Persists are throttled to managedLedgerDefaultMarkDeleteRateLimit per second: a throttled request marks the
 *   cursor dirty and resolves at once; a timer flushes it after managedLedgerCursorPositionFlushSeconds, and
 *   close() always flushes.
 * - One write runs at a time and writes the cursor's state as it is when the write starts, so requests made
 *   meanwhile coalesce into one next write (the latest state wins) and the persisted position never goes back
 *   behind one persisted earlier (except through an explicit reset, which is itself a newer state).
 */
export class CursorPersistence {
  private readonly host: CursorHost;
  private readonly cursorName: string;
  private readonly logger: Logger;
  private readonly snapshot: () => CursorSnapshot;

  private node: Versioned<ManagedCursorInfo>;
  private ledger: WriteHandle | undefined;
  private ledgerEntries = 0;
  private ledgerCreatedAtMs = 0;
  /** Ledgers no longer named by the node, deleted once the node points elsewhere. */
  private readonly obsoleteLedgerIds: bigint[] = [];
  private retiring: Promise<void> = RESOLVED;

  /** The chain every node or ledger write is queued on. */
  private tail: Promise<void> = RESOLVED;
  /** The queued (not yet started) write that a new persist request joins. */
  private queued: Promise<void> | undefined;
  private dirty = false;
  private nextPersistAtMs = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Set while persists are throttled; cleared when the rate limit allows the next one. */
  private throttleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: {
    host: CursorHost;
    cursorName: string;
    logger: Logger;
    snapshot: () => CursorSnapshot;
    node: Versioned<ManagedCursorInfo>;
  }) {
    this.host = options.host;
    this.cursorName = options.cursorName;
    this.logger = options.logger;
    this.snapshot = options.snapshot;
    this.node = options.node;
    if (this.node.value.cursorsLedgerId !== NO_CURSOR_LEDGER) {
      // A recovered cursor does not append to its old ledger (it was fenced by the recovery read): the next
      // persist creates a new one and deletes this one once the node has moved.
      this.obsoleteLedgerIds.push(this.node.value.cursorsLedgerId);
    }
  }

  /** The ledger this cursor's positions are being written to, if any: its id, last entry, and when it began. */
  currentLedger(): { ledgerId: bigint; lastEntryId: number; createdAtMs: number } | undefined {
    if (this.ledger === undefined) return undefined;
    return {
      ledgerId: this.ledger.ledgerId,
      lastEntryId: this.ledgerEntries - 1,
      createdAtMs: this.ledgerCreatedAtMs,
    };
  }

  /** Creates the cursor's node (it must not exist) with its initial position and no ledger. */
  static async createNode(
    host: CursorHost,
    cursorName: string,
    markDelete: Position,
    properties: Map<string, bigint>,
  ): Promise<Versioned<ManagedCursorInfo>> {
    const value: ManagedCursorInfo = {
      cursorsLedgerId: NO_CURSOR_LEDGER,
      markDelete,
      individualDeletedMessages: [],
      properties,
      lastActive: Date.now(),
      cursorProperties: new Map(),
    };
    const version = await host.metaStore.putCursorInfo(host.name, cursorName, value, 'absent');
    return { value, version };
  }

  /**
   * Reads a cursor's persisted state: the node; then, when it names a ledger, that ledger opened with recovery
   * (fencing a previous owner's appends) and its last PositionInfo. An empty ledger, or one that is gone or
   * holds bad bytes, falls back to the node's snapshot; bookies that cannot be reached fail the recovery with a
   * retriable BookKeeperException rather than move the cursor back to that older snapshot. The node is then
   * written back by compare-and-set, so a previous owner's cursor can write nothing more (its ledger is fenced,
   * its next node write loses). Throws CursorNotFound when there is no node.
   */
  static async recover(
    host: CursorHost,
    cursorName: string,
    logger: Logger,
  ): Promise<{ node: Versioned<ManagedCursorInfo>; state: RecoveredCursorState }> {
    const found = await host.metaStore.getCursorInfo(host.name, cursorName);
    if (found === undefined) {
      throw new ManagedLedgerError(
        'CursorNotFound',
        `cursor ${cursorName} of managed ledger ${host.name} has no metadata to recover from`,
      );
    }
    const state = await readPersistedState(host, cursorName, found.value, logger);
    // Claim the node: a previous owner's cursor still running would otherwise win a later compare-and-set
    // against the version read here (its appends already fail: the recovery fenced its ledger). Now its
    // next node write fails with ManagedLedgerFenced.
    const value: ManagedCursorInfo = { ...found.value, lastActive: Date.now() };
    const version = await host.metaStore.putCursorInfo(host.name, cursorName, value, found.version);
    return { node: { value, version }, state };
  }

  /** The ledger PositionInfo entries currently go to, if any. */
  get cursorLedgerId(): bigint | undefined {
    return this.ledger?.ledgerId;
  }

  /**
   * Asks for the current state to be persisted, subject to the rate limit. Resolves once it is persisted, or
   * at once when throttled (the flush timer or close() writes it later).
   */
  request(): Promise<void> {
    this.dirty = true;
    // Hot path (every acknowledgement): while throttled, nothing but the flag is looked at.
    if (this.throttleTimer !== undefined || this.closed) return RESOLVED;
    const rate = this.host.config.managedLedgerDefaultMarkDeleteRateLimit;
    if (rate > 0) {
      const now = Date.now();
      if (now < this.nextPersistAtMs) {
        this.scheduleFlush();
        this.throttleTimer = setTimeout(() => {
          this.throttleTimer = undefined;
        }, this.nextPersistAtMs - now);
        this.throttleTimer.unref();
        return RESOLVED;
      }
      this.nextPersistAtMs = now + 1000 / rate;
    }
    return this.persist();
  }

  /** Persists the current state now, whatever the rate limit (a reset must not be lost to throttling). */
  persistNow(): Promise<void> {
    if (this.closed) return RESOLVED;
    this.dirty = true;
    return this.persist();
  }

  /** Persists the current state now if it changed since the last write (no rate limit); waits for writes. */
  flush(): Promise<void> {
    if (this.dirty) return this.persist();
    return this.tail;
  }

  /** Writes the node again with new cursor properties (queued behind position writes). */
  putCursorProperties(cursorProperties: Map<string, string>): Promise<void> {
    const write = this.tail.then(() =>
      this.writeNode({ ...this.node.value, cursorProperties: new Map(cursorProperties) }),
    );
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** Flushes, waits for writes, and closes the cursor ledger (it stays, for recovery). */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.stopFlushTimer();
      await this.tail;
      const ledger = this.ledger;
      this.ledger = undefined;
      if (ledger !== undefined) await this.closeQuietly(ledger);
      await this.retiring;
    }
  }

  /** Stops persisting and deletes the cursor's ledgers and node. */
  async remove(): Promise<void> {
    this.closed = true;
    this.stopFlushTimer();
    await this.tail;
    await this.retiring;
    const ledger = this.ledger;
    this.ledger = undefined;
    if (ledger !== undefined) {
      await this.closeQuietly(ledger);
      this.obsoleteLedgerIds.push(ledger.ledgerId);
    }
    await this.deleteObsoleteLedgers(false);
    await this.host.metaStore.removeCursor(this.host.name, this.cursorName);
  }

  private persist(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const write = this.tail.then(() => {
      this.queued = undefined;
      return this.write();
    });
    this.queued = write;
    this.tail = write.catch(() => undefined);
    return write;
  }

  private async write(): Promise<void> {
    this.dirty = false;
    const snapshot = this.snapshot();
    const config = this.host.config;
    const ledger = this.ledger;
    const full =
      ledger !== undefined &&
      (this.ledgerEntries >= config.managedLedgerCursorMaxEntriesPerLedger ||
        Date.now() - this.ledgerCreatedAtMs >= config.managedLedgerCursorRolloverTimeInSeconds * 1000);
    if (ledger === undefined || full) {
      await this.switchLedger(snapshot);
      return;
    }
    const entry = this.positionInfo(snapshot);
    try {
      await ledger.append(entry);
      this.ledgerEntries++;
    } catch (err) {
      this.logger.warn(
        { err, cursorLedgerId: ledger.ledgerId.toString() },
        'cannot append to the cursor ledger: position goes to metadata',
      );
      await this.fallBackToNode(snapshot);
    }
  }

  /** A new cursor ledger holding the snapshot, then the node switched to it, then the old ledger deleted. */
  private async switchLedger(snapshot: CursorSnapshot): Promise<void> {
    let created: WriteHandle | undefined;
    try {
      created = await this.host.bookKeeper.createLedger(this.ledgerOptions());
      await created.append(this.positionInfo(snapshot));
    } catch (err) {
      this.logger.warn({ err }, 'cannot write a new cursor ledger: position goes to metadata');
      if (created !== undefined) this.retire(created);
      await this.fallBackToNode(snapshot);
      return;
    }
    try {
      await this.writeNode(this.nodeInfo(created.ledgerId, snapshot));
    } catch (err) {
      this.retire(created);
      throw err;
    }
    const old = this.ledger;
    this.ledger = created;
    this.ledgerEntries = 1;
    this.ledgerCreatedAtMs = Date.now();
    this.logger.info({ cursorLedgerId: created.ledgerId.toString() }, 'cursor ledger switched');
    if (old !== undefined) this.retire(old);
    this.retiring = this.retiring.then(() => this.deleteObsoleteLedgers());
  }

  /** Writes the position into the node (cursorsLedgerId -1); the next persist tries a new ledger. */
  private async fallBackToNode(snapshot: CursorSnapshot): Promise<void> {
    const old = this.ledger;
    this.ledger = undefined;
    await this.writeNode(this.nodeInfo(NO_CURSOR_LEDGER, snapshot));
    if (old !== undefined) this.retire(old);
    this.retiring = this.retiring.then(() => this.deleteObsoleteLedgers());
  }

  private async writeNode(value: ManagedCursorInfo): Promise<void> {
    const version = await this.host.metaStore.putCursorInfo(
      this.host.name,
      this.cursorName,
      value,
      this.node.version,
    );
    this.node = { value, version };
  }

  private nodeInfo(cursorsLedgerId: bigint, snapshot: CursorSnapshot): ManagedCursorInfo {
    return {
      cursorsLedgerId,
      markDelete: snapshot.markDelete,
      individualDeletedMessages: snapshot.ranges(
        this.host.config.managedLedgerMaxUnackedRangesToPersistInMetadataStore,
      ),
      properties: new Map(snapshot.properties),
      lastActive: Date.now(),
      cursorProperties: new Map(snapshot.cursorProperties),
    };
  }

  private positionInfo(snapshot: CursorSnapshot): Buffer {
    // The same bytes as encodePositionInfo, without protobufjs's per-int64 string round trips (10,000 ranges).
    return encodePositionInfoFast({
      position: snapshot.markDelete,
      individualDeletedMessages: snapshot.ranges(this.host.config.managedLedgerMaxUnackedRangesToPersist),
      properties: snapshot.properties,
    });
  }

  private ledgerOptions(): CreateLedgerOptions {
    const config = this.host.config;
    return {
      ensembleSize: config.managedLedgerDefaultEnsembleSize,
      writeQuorumSize: config.managedLedgerDefaultWriteQuorum,
      ackQuorumSize: config.managedLedgerDefaultAckQuorum,
      digestType: digestType(config.managedLedgerDigestType),
      password: config.managedLedgerPassword,
      customMetadata: {
        application: 'pulsar',
        component: 'managed-ledger',
        'pulsar/managed-ledger': this.host.name,
        'pulsar/cursor': this.cursorName,
      },
    };
  }

  /** Closes a ledger in the background, to be deleted once no node names it. */
  private retire(ledger: WriteHandle): void {
    this.obsoleteLedgerIds.push(ledger.ledgerId);
    this.retiring = this.retiring.then(() => this.closeQuietly(ledger));
  }

  private async closeQuietly(ledger: WriteHandle): Promise<void> {
    try {
      await ledger.close();
    } catch (err) {
      this.logger.debug({ err, cursorLedgerId: ledger.ledgerId.toString() }, 'cannot close a cursor ledger');
    }
  }

  /**
   * Deletes the ledgers the node no longer names (with `keepNamed` false, also the one it names: the cursor is
   * being removed). A failed delete leaves the ledger behind, logged.
   */
  private async deleteObsoleteLedgers(keepNamed = true): Promise<void> {
    const named = this.node.value.cursorsLedgerId;
    const ids = this.obsoleteLedgerIds.splice(0).filter((id) => !keepNamed || id !== named);
    for (const ledgerId of ids) {
      try {
        await this.host.bookKeeper.deleteLedger(ledgerId);
      } catch (err) {
        this.logger.warn({ err, cursorLedgerId: ledgerId.toString() }, 'cannot delete an old cursor ledger');
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    const delayMs = this.host.config.managedLedgerCursorPositionFlushSeconds * 1000;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.closed || !this.dirty) return;
      this.persist().catch((err: unknown) => {
        if (isManagedLedgerError(err, 'ManagedLedgerFenced')) this.closed = true;
        this.logger.warn({ err }, 'cannot flush the cursor position');
      });
    }, delayMs);
    this.flushTimer.unref();
  }

  private stopFlushTimer(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.throttleTimer !== undefined) clearTimeout(this.throttleTimer);
    this.throttleTimer = undefined;
  }
}

/** The state a cursor's node and (if it names one) its ledger hold; see CursorPersistence.recover. */
async function readPersistedState(
  host: CursorHost,
  cursorName: string,
  info: ManagedCursorInfo,
  logger: Logger,
): Promise<RecoveredCursorState> {
  const fromNode: RecoveredCursorState = {
    markDelete: info.markDelete,
    ranges: info.individualDeletedMessages,
    properties: info.properties,
    cursorProperties: info.cursorProperties,
    source: 'node',
  };
  if (info.cursorsLedgerId === NO_CURSOR_LEDGER) return fromNode;
  const ledgerId = info.cursorsLedgerId;
  try {
    const last = await readLastPositionInfo(host, ledgerId, cursorName);
    if (last === undefined) {
      logger.info({ cursorLedgerId: ledgerId.toString() }, 'cursor ledger is empty: position from metadata');
      return fromNode;
    }
    return {
      markDelete: last.position,
      ranges: last.individualDeletedMessages,
      properties: last.properties,
      cursorProperties: info.cursorProperties,
      source: 'ledger',
    };
  } catch (err) {
    if (!isUnrecoverable(err)) {
      // Bookies unreachable for now: recovering from the older snapshot would move the cursor back, so
      // the open fails instead (and may be retried), as Pulsar's recoverFromLedger does.
      throw new ManagedLedgerError(
        'BookKeeperException',
        `cannot recover cursor ${cursorName} of managed ledger ${host.name} from its ledger ${ledgerId}: ${(err as Error).message}`,
        { cause: err, retriable: true },
      );
    }
    logger.warn(
      { err, cursorLedgerId: ledgerId.toString() },
      'cursor ledger gone or unreadable: position from metadata',
    );
    return fromNode;
  }
}

/** BookKeeper errors after which the cursor ledger will never be readable (Pulsar's isBkErrorNotRecoverable). */
const UNRECOVERABLE: ReadonlySet<string> = new Set([
  'NoSuchLedgerExistsException',
  'NoSuchLedgerExistsOnMetadataServerException',
  'NoSuchEntryException',
  'DigestMatchException',
]);

/** The ledger is gone, its last entry cannot exist, or it holds bytes that are not a PositionInfo. */
function isUnrecoverable(err: unknown): boolean {
  return (isBKError(err) && UNRECOVERABLE.has(err.code)) || isManagedLedgerError(err, 'MetaStoreException');
}

async function readLastPositionInfo(
  host: CursorHost,
  ledgerId: bigint,
  cursorName: string,
): Promise<ReturnType<typeof decodePositionInfo> | undefined> {
  const handle = await host.bookKeeper.openLedger({
    ledgerId,
    password: host.config.managedLedgerPassword,
    recovery: true,
  });
  try {
    const lac = handle.getLastAddConfirmed();
    if (lac < 0n) return undefined;
    const [entry] = await handle.read(lac, lac);
    if (entry === undefined) return undefined;
    return decodePositionInfo(
      entry.data,
      `the position of cursor ${cursorName} of managed ledger ${host.name} (ledger ${ledgerId}, entry ${lac})`,
    );
  } finally {
    await handle.close();
  }
}
