import { LedgerExistsError } from '../../metadata';
import type { DigestType, LedgerMetadata, VersionedLedgerMetadata } from '../../metadata';
import { DigestManager, DigestType as WireDigestType, masterKey } from '../../protocol';
import type { ClientContext } from '../client-context';
import { BKError } from '../errors';
import { metadataError } from './add-errors';
import { LedgerWriter } from './ledger-writer';
import type { LedgerWriteHandle, WriteHandleInit } from './write-handle';
import { WRITE_QUORUM_SIZE_MAX } from './pending-add-op';

/** BookKeeper's WriteFlag: DEFERRED_SYNC lets bookies acknowledge before fsync; force() is the barrier. */
export type WriteFlagName = 'DEFERRED_SYNC';

export interface CreateLedgerOptions {
  /** Bookies per segment (E). Default 3. */
  ensembleSize?: number;
  /** Copies of each entry (Qw). Default 2. */
  writeQuorumSize?: number;
  /** Acknowledgements that confirm an entry (Qa). Default 2. */
  ackQuorumSize?: number;
  /** Default CRC32C, as BookKeeper's new API. */
  digestType?: DigestType;
  /** Needed again to open the ledger; stored in its metadata. Default empty. */
  password?: Buffer | string;
  customMetadata?: Map<string, Buffer | string> | Record<string, Buffer | string>;
  writeFlags?: WriteFlagName[];
}

export interface CreateAdvLedgerOptions extends CreateLedgerOptions {
  /** The ledger id to create; generated when absent. An existing id fails with LedgerExistException. */
  ledgerId?: bigint;
}

/** Validated create options. */
export interface LedgerParams {
  ensembleSize: number;
  writeQuorumSize: number;
  ackQuorumSize: number;
  digestType: DigestType;
  password: Buffer;
  customMetadata: Map<string, Buffer>;
  deferredSync: boolean;
  ledgerId: bigint | undefined;
}

const DIGEST_TYPES: readonly DigestType[] = ['CRC32', 'CRC32C', 'HMAC', 'DUMMY'];
const WRITE_FLAGS: readonly WriteFlagName[] = ['DEFERRED_SYNC'];
const INT64_MAX = (1n << 63n) - 1n;
/** As the metadata format allows (ENSEMBLE_SIZE_MAX in metadata/ledger-metadata.ts). */
const ENSEMBLE_SIZE_MAX = 1024;
/** Generated ids that collide with an existing ledger are retried with a new id this many times. */
const GENERATED_ID_ATTEMPTS = 10;

function incorrect(message: string): BKError {
  return new BKError('IncorrectParameterException', message);
}

/** A password given as a Buffer or a string (UTF-8); anything else is IncorrectParameterException. */
export function passwordBytes(password: unknown): Buffer {
  if (password === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(password)) return password;
  if (typeof password === 'string') return Buffer.from(password, 'utf8');
  throw incorrect(`password must be a Buffer or a string, got ${typeof password}`);
}

/** Checks create options (E ≥ Qw ≥ Qa ≥ 1, a known digest type, ...), filling in BookKeeper's defaults. */
export function ledgerParams(options: CreateAdvLedgerOptions): LedgerParams {
  if (typeof options !== 'object' || options === null) throw incorrect('ledger options must be an object');
  const ensembleSize = options.ensembleSize ?? 3;
  const writeQuorumSize = options.writeQuorumSize ?? Math.min(2, ensembleSize);
  const ackQuorumSize = options.ackQuorumSize ?? Math.min(2, writeQuorumSize);
  const sizes = { ensembleSize, writeQuorumSize, ackQuorumSize };
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(value) || value < 1 || value > ENSEMBLE_SIZE_MAX) {
      throw incorrect(`${name} must be an integer from 1 to ${ENSEMBLE_SIZE_MAX}, got ${String(value)}`);
    }
  }
  if (writeQuorumSize > WRITE_QUORUM_SIZE_MAX) {
    throw incorrect(`writeQuorumSize must be at most ${WRITE_QUORUM_SIZE_MAX}, got ${writeQuorumSize}`);
  }
  if (!(ensembleSize >= writeQuorumSize && writeQuorumSize >= ackQuorumSize)) {
    throw incorrect(
      `need ensembleSize >= writeQuorumSize >= ackQuorumSize, got ${ensembleSize} >= ${writeQuorumSize} >= ${ackQuorumSize}`,
    );
  }
  const digestType = options.digestType ?? 'CRC32C';
  if (!DIGEST_TYPES.includes(digestType)) {
    throw incorrect(`digestType must be one of ${DIGEST_TYPES.join(', ')}, got ${String(digestType)}`);
  }
  const writeFlags = options.writeFlags ?? [];
  if (!Array.isArray(writeFlags) || writeFlags.some((flag) => !WRITE_FLAGS.includes(flag))) {
    throw incorrect(`writeFlags may only hold ${WRITE_FLAGS.join(', ')}, got ${String(writeFlags)}`);
  }
  const ledgerId = options.ledgerId;
  if (ledgerId !== undefined && (typeof ledgerId !== 'bigint' || ledgerId < 0n || ledgerId > INT64_MAX)) {
    throw incorrect(`ledgerId must be a bigint from 0 to 2^63-1, got ${String(ledgerId)}`);
  }
  return {
    ...sizes,
    digestType,
    password: passwordBytes(options.password),
    customMetadata: customMetadataMap(options.customMetadata),
    deferredSync: writeFlags.includes('DEFERRED_SYNC'),
    ledgerId,
  };
}

function customMetadataMap(custom: CreateLedgerOptions['customMetadata']): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  if (custom === undefined) return map;
  if (typeof custom !== 'object' || custom === null)
    throw incorrect('customMetadata must be a Map or an object');
  const entries = custom instanceof Map ? [...custom] : Object.entries(custom);
  for (const [key, value] of entries) {
    if (typeof key !== 'string') throw incorrect('customMetadata keys must be strings');
    if (Buffer.isBuffer(value)) map.set(key, value);
    else if (typeof value === 'string') map.set(key, Buffer.from(value, 'utf8'));
    else throw incorrect(`customMetadata "${key}" must be a Buffer or a string`);
  }
  return map;
}

/**
 * BookKeeper's LedgerCreateOp: an ensemble from the placement policy, a ledger id from the generator, then the
 * metadata (OPEN, one segment from entry 0) created only if absent. A generated id that already exists is
 * replaced by a new one; an explicit id that exists fails with LedgerExistException.
 */
export async function createLedgerMetadata(
  ctx: ClientContext,
  params: LedgerParams,
): Promise<{ ledgerId: bigint; metadata: VersionedLedgerMetadata }> {
  const ensemble = ctx.placement.newEnsemble(params);
  for (let attempt = 1; ; attempt++) {
    const ledgerId = params.ledgerId ?? (await generateLedgerId(ctx));
    const metadata: LedgerMetadata = {
      ensembleSize: params.ensembleSize,
      writeQuorumSize: params.writeQuorumSize,
      ackQuorumSize: params.ackQuorumSize,
      state: 'OPEN',
      lastEntryId: -1n,
      length: 0n,
      ensembles: [{ firstEntryId: 0n, ensemble }],
      digestType: params.digestType,
      password: params.password,
      ctime: BigInt(Date.now()),
      customMetadata: params.customMetadata,
    };
    try {
      const created = await ctx.ledgerManager.createLedgerMetadata(ledgerId, metadata);
      ctx.logger.info(
        { ledgerId: ledgerId.toString(), ensemble, quorums: [params.writeQuorumSize, params.ackQuorumSize] },
        'created ledger',
      );
      return { ledgerId, metadata: created };
    } catch (error) {
      const retry = error instanceof LedgerExistsError && params.ledgerId === undefined;
      if (!retry || attempt >= GENERATED_ID_ATTEMPTS) throw metadataError('create', ledgerId, error);
      ctx.logger.warn({ ledgerId: ledgerId.toString() }, 'generated ledger id exists, taking another');
    }
  }
}

async function generateLedgerId(ctx: ClientContext): Promise<bigint> {
  try {
    return await ctx.ledgerIdGenerator.generateLedgerId();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new BKError('MetaStoreException', `create: no ledger id from the metadata store: ${detail}`, {
      cause: error,
    });
  }
}

/** A handle that writes from entry 0 on a newly created ledger. */
export function newWriteHandle<H extends LedgerWriteHandle>(
  ctx: ClientContext,
  kind: new (ctx: ClientContext, init: WriteHandleInit) => H,
  created: { ledgerId: bigint; metadata: VersionedLedgerMetadata },
  params: LedgerParams,
  onClosed: (handle: LedgerWriteHandle) => void,
): H {
  const digest = DigestManager.create(created.ledgerId, params.password, WireDigestType[params.digestType]);
  const key = masterKey(params.password);
  const writer = new LedgerWriter(ctx, {
    ledgerId: created.ledgerId,
    metadata: created.metadata,
    digest,
    masterKey: key,
    lastAddConfirmed: -1n,
    length: 0n,
    recovery: false,
    deferredSync: params.deferredSync,
  });
  return new kind(ctx, { writer, digest, masterKey: key, deferredSync: params.deferredSync, onClosed });
}
