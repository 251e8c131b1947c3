import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../common';
import { StatusCode } from '../protocol';
import type { JournalApi, JournalCallback } from './journal/journal-api';
import type { LedgerInfo, LedgerStorageApi } from './storage/ledger-storage-api';

/**
 * The write side of a bookie's ledgers (BookKeeper's HandleFactory and LedgerDescriptor): the ledger to write
 * to with a given master key, created on first contact, and its fencing.
 *
 * Each change reaches storage before its journal record is written (see bookie.ts on checkpoints). A fence is
 * in force for adds from the moment it starts (`isFenced`), and answered only when its FENCE record is durable.
 */
export class LedgerHandles {
  private readonly journal: JournalApi;
  private readonly storage: LedgerStorageApi;
  private readonly logger: Logger;
  private readonly journalHealthy: () => boolean;
  /** First contact in progress per ledger: concurrent writers wait for the one creating it. */
  private readonly creating = new Map<bigint, Promise<void>>();
  /** Fences in progress, from their start until the FENCE record is durable. */
  private readonly fencing = new Map<bigint, Promise<StatusCode>>();

  constructor(options: {
    journal: JournalApi;
    storage: LedgerStorageApi;
    logger: Logger;
    /** False once the journal has failed: nothing new can be made durable. */
    journalHealthy: () => boolean;
  }) {
    this.journal = options.journal;
    this.storage = options.storage;
    this.logger = options.logger;
    this.journalHealthy = options.journalHealthy;
  }

  /** The ledger's info without I/O, if storage has it cached and the ledger has a key (the add hot path). */
  peek(ledgerId: bigint): LedgerInfo | undefined {
    const info = this.storage.peekLedgerInfo(ledgerId);
    return info !== undefined && info.masterKey.length > 0 ? info : undefined;
  }

  /**
   * The ledger's info for a write with `masterKey`, creating the ledger on first contact (master key into
   * storage, then a LEDGER_KEY record). Returns a status when there is nothing to write to. The caller checks
   * the key (`keysMatch`): a concurrent first contact with another key may have won.
   */
  async forWrite(ledgerId: bigint, masterKey: Buffer): Promise<LedgerInfo | StatusCode> {
    for (;;) {
      const creating = this.creating.get(ledgerId);
      if (creating !== undefined) await creating;
      const info = this.storage.peekLedgerInfo(ledgerId) ?? (await this.storage.getLedgerInfo(ledgerId));
      if (info !== undefined && info.masterKey.length > 0) return info;
      if (this.creating.has(ledgerId)) continue; // another writer started creating it while we looked
      if (!this.journalHealthy()) return StatusCode.EIO;
      const creation = this.create(ledgerId, masterKey);
      this.creating.set(ledgerId, creation);
      try {
        await creation;
      } finally {
        this.creating.delete(ledgerId);
      }
    }
  }

  /** Whether adds without RECOVERY_ADD are refused: fenced, or a fence has started. */
  isFenced(ledgerId: bigint, info: LedgerInfo): boolean {
    return info.fenced || this.fencing.has(ledgerId);
  }

  /** Fences the ledger; EOK once the fence is durable. Concurrent fences share one FENCE record. */
  fence(ledgerId: bigint, info: LedgerInfo): Promise<StatusCode> {
    const inProgress = this.fencing.get(ledgerId);
    if (inProgress !== undefined) return inProgress;
    // A failed journal cannot make a fence durable, nor vouch that an earlier one became durable.
    if (!this.journalHealthy()) return Promise.resolve(StatusCode.EIO);
    // Fenced, and no fence of ours in flight: the fence is durable (replayed, flushed, or completed earlier).
    if (info.fenced) return Promise.resolve(StatusCode.EOK);
    const fencing = this.fenceDurably(ledgerId).finally(() => this.fencing.delete(ledgerId));
    this.fencing.set(ledgerId, fencing);
    return fencing;
  }

  private async create(ledgerId: bigint, masterKey: Buffer): Promise<void> {
    // A copy: the key is a slice of a request frame, and storage keeps it.
    const key = Buffer.from(masterKey);
    await this.storage.setMasterKey(ledgerId, key);
    // Not awaited: the records that depend on the key (the add, a FENCE) come after it in the journal, and the
    // journal calls back in record order, so their acknowledgement implies this record is durable.
    this.journal.logLedgerKey(ledgerId, key, (error) => {
      if (error !== undefined) this.logger.error({ err: error, ledgerId }, 'ledger key not journaled');
    });
    this.logger.debug({ ledgerId }, 'ledger created on first contact');
  }

  private async fenceDurably(ledgerId: bigint): Promise<StatusCode> {
    await this.storage.setFenced(ledgerId);
    const status = await journaled(this.logger, (callback) => this.journal.logFence(ledgerId, callback));
    if (status === StatusCode.EOK) this.logger.info({ ledgerId }, 'ledger fenced');
    return status;
  }
}

/** Compares master keys in constant time. */
export function keysMatch(stored: Buffer, given: Buffer): boolean {
  return stored.length === given.length && timingSafeEqual(stored, given);
}

/** Runs one journal operation, turning its callback (or a synchronous refusal) into a status. */
export function journaled(logger: Logger, log: (callback: JournalCallback) => void): Promise<StatusCode> {
  return new Promise((resolve) => {
    const callback: JournalCallback = (error) => {
      if (error !== undefined) logger.error({ err: error }, 'journal record failed');
      resolve(error === undefined ? StatusCode.EOK : StatusCode.EIO);
    };
    try {
      log(callback);
    } catch (error) {
      callback(error as Error);
    }
  });
}
