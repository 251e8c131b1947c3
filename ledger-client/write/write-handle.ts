import type { Logger } from '../../common';
import type { LedgerMetadata, VersionedLedgerMetadata } from '../../metadata';
import type { DigestManager } from '../../protocol';
import type { ClientContext } from '../client-context';
import { BKError } from '../errors';
import { ExplicitLacFlusher } from './explicit-lac-flusher';
import type { LedgerWriter } from './ledger-writer';
import { closeLedgerMetadata } from './metadata-updates';

/**
 * What an append takes: bytes, or a string sent as UTF-8. Bytes of 64 KiB or more are sent from the caller's
 * buffer, not copied (as Node's socket.write): they must not change until the append settles.
 */
export type EntryData = Buffer | Uint8Array | string;

export interface WriteHandleInit {
  writer: LedgerWriter;
  digest: DigestManager;
  masterKey: Buffer;
  deferredSync: boolean;
  /** Told once the handle is closed, so the client stops tracking it. */
  onClosed?: (handle: LedgerWriteHandle) => void;
}

/**
 * What WriteHandle and WriteAdvHandle share (BookKeeper's client/api/WriteHandle): the ledger's LAC and length,
 * force, close. The add pipeline itself is the LedgerWriter.
 */
export abstract class LedgerWriteHandle {
  readonly ledgerId: bigint;
  protected readonly writer: LedgerWriter;
  protected readonly ctx: ClientContext;
  private readonly logger: Logger;
  private readonly deferredSync: boolean;
  private readonly flusher: ExplicitLacFlusher | undefined;
  private readonly onClosed: ((handle: LedgerWriteHandle) => void) | undefined;
  private closing: Promise<void> | undefined;
  private closedMetadata: VersionedLedgerMetadata | undefined;

  constructor(ctx: ClientContext, init: WriteHandleInit) {
    this.ctx = ctx;
    this.writer = init.writer;
    this.ledgerId = init.writer.ledgerId;
    this.logger = ctx.logger.child({ ledgerId: this.ledgerId.toString() });
    this.deferredSync = init.deferredSync;
    this.onClosed = init.onClosed;
    const intervalMs = ctx.config.explicitLacInterval;
    this.flusher =
      intervalMs > 0
        ? new ExplicitLacFlusher(ctx, init.writer, init.digest, init.masterKey, intervalMs)
        : undefined;
  }

  /** The last entry confirmed to a caller (for DEFERRED_SYNC ledgers: the last one made durable by force()). */
  getLastAddConfirmed(): bigint {
    return this.writer.lastAddConfirmed();
  }

  /** The highest entry id sent so far. */
  getLastAddPushed(): bigint {
    return this.writer.lastAddPushed();
  }

  /** Bytes of payload up to and including the LAC: the length close() writes. */
  getLength(): bigint {
    return this.writer.length();
  }

  getLedgerMetadata(): LedgerMetadata {
    return (this.closedMetadata ?? this.writer.metadata()).metadata;
  }

  /** True once close() was called. */
  isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Makes every confirmed entry durable on every bookie of the current ensemble (FORCE_LEDGER); for
   * DEFERRED_SYNC ledgers this is what advances the LAC. Resolves with the LAC.
   */
  force(): Promise<bigint> {
    if (this.closing !== undefined) return Promise.reject(this.closedError('force'));
    return this.writer.force();
  }

  /**
   * Waits for every pending add, then marks the ledger CLOSED in the metadata with lastEntryId = LAC and the
   * length up to it (DEFERRED_SYNC ledgers are forced first). A second call returns the first one's promise.
   * Fails with MetadataVersionException if another client already closed the ledger at a different end.
   */
  close(): Promise<void> {
    this.closing ??= this.closeLedger();
    return this.closing;
  }

  /** Fails pending and later adds with `error` (the client is closing); the handle stays closable. */
  abort(error: BKError): void {
    this.flusher?.stop();
    this.writer.failAll(error);
  }

  protected add(entryId: bigint, data: EntryData): Promise<bigint> {
    if (this.closing !== undefined) return Promise.reject(this.closedError(`add of entry ${entryId}`));
    const payload = toBuffer(data);
    if (payload === undefined) {
      return Promise.reject(
        new BKError(
          'IncorrectParameterException',
          `ledger ${this.ledgerId}: entry data must be a Buffer, a Uint8Array or a string`,
          { ledgerId: this.ledgerId, entryId },
        ),
      );
    }
    return this.writer.addEntryAsync(entryId, payload);
  }

  private async closeLedger(): Promise<void> {
    this.flusher?.stop();
    await this.writer.drain();
    if (this.deferredSync && this.writer.error() === undefined) {
      try {
        await this.writer.force();
      } catch (error) {
        // Only forced entries count as confirmed for a DEFERRED_SYNC ledger: it closes at the last forced one.
        this.logger.warn({ err: error }, 'force before close failed');
      }
    }
    const end = { lastEntryId: this.writer.lastAddConfirmed(), length: this.writer.length() };
    this.writer.failAll(this.closedError('add'));
    try {
      this.closedMetadata = await closeLedgerMetadata(this.ctx, this.ledgerId, this.writer.metadata(), end);
      this.logger.info(
        { lastEntryId: end.lastEntryId.toString(), length: end.length.toString() },
        'closed ledger',
      );
    } finally {
      this.onClosed?.(this);
    }
  }

  private closedError(what: string): BKError {
    return new BKError('LedgerClosedException', `${what}: ledger ${this.ledgerId} is closed`, {
      ledgerId: this.ledgerId,
    });
  }
}

/** Appends entries with ids the ledger assigns: 0, 1, 2, ... Many appends may be in flight at once. */
export class WriteHandle extends LedgerWriteHandle {
  /** Resolves with the entry's id once it and every earlier entry are confirmed. */
  append(data: EntryData): Promise<bigint> {
    return this.add(this.writer.lastAddPushed() + 1n, data);
  }

  /** BookKeeper's name for append. */
  appendAsync(data: EntryData): Promise<bigint> {
    return this.append(data);
  }
}

/**
 * Writes entries with ids the caller gives (BookKeeper's WriteAdvHandle): in any order, each confirmed only after
 * every lower id. An id at or below the LAC, or already written, fails with DuplicateEntryIdException.
 */
export class WriteAdvHandle extends LedgerWriteHandle {
  write(entryId: bigint, data: EntryData): Promise<bigint> {
    if (typeof entryId !== 'bigint') {
      return Promise.reject(
        new BKError('IncorrectParameterException', `ledger ${this.ledgerId}: entry id must be a bigint`, {
          ledgerId: this.ledgerId,
        }),
      );
    }
    return this.add(entryId, data);
  }
}

function toBuffer(data: EntryData): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
