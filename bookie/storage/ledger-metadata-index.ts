import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import type { LedgerInfo } from './ledger-storage-api';
import { RocksDb } from './rocks-db';
import { CorruptIndexError } from './storage-errors';

/*
 * The "ledgers" RocksDB of DbLedgerStorage (reference §3): key ledgerId (8 BE) -> LedgerData protobuf
 * (../proto/DbLedgerStorageDataFormats.proto). As BookKeeper's LedgerMetadataIndex, every record is loaded into
 * memory at open, so lookups on the add and read paths never touch RocksDB. Changes (master key, fence,
 * explicit LAC) are made in memory and written by the next flush(); the bookie journals them first, so a crash
 * before that flush is repaired by journal replay. Deletion is written at once.
 */

let ledgerDataType: protobuf.Type | undefined;

function ledgerData(): protobuf.Type {
  ledgerDataType ??= protobuf
    .loadSync(join(__dirname, '..', 'proto', 'DbLedgerStorageDataFormats.proto'))
    .lookupType('ledgerline.bookie.LedgerData');
  return ledgerDataType;
}

interface LedgerDataMessage {
  exists: boolean;
  fenced: boolean;
  masterKey: Uint8Array;
  explicitLac?: Uint8Array;
  limbo?: boolean;
}

export function encodeLedgerData(info: LedgerInfo): Buffer {
  const message: LedgerDataMessage = { exists: true, fenced: info.fenced, masterKey: info.masterKey };
  if (info.explicitLac !== undefined) message.explicitLac = info.explicitLac;
  const type = ledgerData();
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

export function decodeLedgerData(ledgerId: bigint, bytes: Buffer): LedgerInfo {
  let message: LedgerDataMessage;
  try {
    message = ledgerData().decode(bytes) as unknown as LedgerDataMessage;
  } catch (err) {
    throw new CorruptIndexError(`ledger ${ledgerId}: undecodable LedgerData`, { cause: err });
  }
  return ledgerInfo(ledgerId, {
    masterKey: Buffer.from(message.masterKey),
    fenced: message.fenced,
    explicitLac: message.explicitLac === undefined ? undefined : Buffer.from(message.explicitLac),
  });
}

function ledgerInfo(ledgerId: bigint, fields: Omit<LedgerInfo, 'ledgerId'>): LedgerInfo {
  return Object.freeze({ ledgerId, ...fields });
}

function ledgerKey(ledgerId: bigint): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(ledgerId);
  return key;
}

export class LedgerMetadataIndex {
  private readonly dirty = new Set<bigint>();

  private constructor(
    private readonly db: RocksDb,
    private readonly ledgers: Map<bigint, LedgerInfo>,
  ) {}

  static async open(dir: string): Promise<LedgerMetadataIndex> {
    const db = await RocksDb.open(dir);
    const ledgers = new Map<bigint, LedgerInfo>();
    try {
      await db.forEach({}, (key, value) => {
        if (key.length !== 8)
          throw new CorruptIndexError(`ledgers index key ${key.toString('hex')} is not a ledger id`);
        const ledgerId = key.readBigUInt64BE();
        ledgers.set(ledgerId, decodeLedgerData(ledgerId, value));
      });
    } catch (err) {
      await db.close();
      throw err;
    }
    return new LedgerMetadataIndex(db, ledgers);
  }

  get(ledgerId: bigint): LedgerInfo | undefined {
    return this.ledgers.get(ledgerId);
  }

  exists(ledgerId: bigint): boolean {
    return this.ledgers.has(ledgerId);
  }

  /** Every known ledger id, ascending. */
  ledgerIds(): bigint[] {
    return [...this.ledgers.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  get size(): number {
    return this.ledgers.size;
  }

  /** Records the ledger (no master key yet) if it is unknown: a ledger with stored entries always has a record. */
  ensure(ledgerId: bigint): void {
    if (!this.ledgers.has(ledgerId)) {
      this.update(ledgerId, { masterKey: Buffer.alloc(0), fenced: false, explicitLac: undefined });
    }
  }

  /** Sets the master key of a new ledger, or of one known so far without a key; otherwise a no-op. */
  setMasterKey(ledgerId: bigint, masterKey: Buffer): void {
    const info = this.ledgers.get(ledgerId);
    if (info !== undefined && info.masterKey.length > 0) return;
    this.update(ledgerId, {
      masterKey: Buffer.from(masterKey),
      fenced: info?.fenced ?? false,
      explicitLac: info?.explicitLac,
    });
  }

  /** Marks the ledger fenced (recording it if unknown); true if it was not fenced before. */
  setFenced(ledgerId: bigint): boolean {
    const info = this.ledgers.get(ledgerId);
    if (info?.fenced === true) return false;
    this.update(ledgerId, {
      masterKey: info?.masterKey ?? Buffer.alloc(0),
      fenced: true,
      explicitLac: info?.explicitLac,
    });
    return true;
  }

  setExplicitLac(ledgerId: bigint, lacBlob: Buffer): void {
    const info = this.ledgers.get(ledgerId);
    this.update(ledgerId, {
      masterKey: info?.masterKey ?? Buffer.alloc(0),
      fenced: info?.fenced ?? false,
      explicitLac: Buffer.from(lacBlob),
    });
  }

  /** Writes every changed record in one synced batch. */
  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    // Records changed while the batch is being written stay dirty for the next flush.
    const written = [...this.dirty];
    this.dirty.clear();
    const batch = this.db.batch();
    for (const ledgerId of written) {
      const info = this.ledgers.get(ledgerId);
      if (info !== undefined) batch.put(ledgerKey(ledgerId), encodeLedgerData(info));
    }
    try {
      await batch.write({ sync: true });
    } catch (err) {
      for (const ledgerId of written) if (this.ledgers.has(ledgerId)) this.dirty.add(ledgerId);
      throw err;
    }
  }

  /** Forgets the ledger, synced. */
  async delete(ledgerId: bigint): Promise<void> {
    const batch = this.db.batch();
    batch.del(ledgerKey(ledgerId));
    await batch.write({ sync: true });
    this.ledgers.delete(ledgerId);
    this.dirty.delete(ledgerId);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private update(ledgerId: bigint, fields: Omit<LedgerInfo, 'ledgerId'>): void {
    this.ledgers.set(ledgerId, ledgerInfo(ledgerId, fields));
    this.dirty.add(ledgerId);
  }
}
