import { BadLedgerMetadataError } from './bookkeeper-errors';

/**
 * A ledger's metadata, in BookKeeper's nouns (client/api/LedgerMetadata.java). 64-bit values are bigints.
 * Stored at `<scope>/ledgers/<uuid>` in format v3 (see ledger-metadata-format.ts); every change is a
 * compare-and-set on the store version returned with it.
 */
export type LedgerState = 'OPEN' | 'IN_RECOVERY' | 'CLOSED';

export type DigestType = 'CRC32' | 'HMAC' | 'CRC32C' | 'DUMMY';

/** The wire values of LedgerMetadataFormat.DigestType. */
export const DIGEST_TYPE_CODES: Readonly<Record<DigestType, number>> = {
  CRC32: 1,
  HMAC: 2,
  CRC32C: 3,
  DUMMY: 4,
};

/** The wire values of LedgerMetadataFormat.State. */
export const LEDGER_STATE_CODES: Readonly<Record<LedgerState, number>> = {
  OPEN: 1,
  IN_RECOVERY: 2,
  CLOSED: 3,
};

/** The bookies that store entries from `firstEntryId` up to the next segment's first entry (or the end). */
export interface LedgerSegment {
  firstEntryId: bigint;
  /** Bookie ids (`host:port` or a custom id), `ensembleSize` of them. */
  ensemble: string[];
}

export interface LedgerMetadata {
  ensembleSize: number;
  writeQuorumSize: number;
  ackQuorumSize: number;
  state: LedgerState;
  /** -1n unless CLOSED. */
  lastEntryId: bigint;
  /** Total payload bytes; 0n unless CLOSED. */
  length: bigint;
  /** Ordered by firstEntryId, strictly ascending; at least one. */
  ensembles: LedgerSegment[];
  digestType: DigestType;
  /** The raw ledger password (empty when none). */
  password: Buffer;
  /** Creation time in ms since the epoch; written only when present (BookKeeper's `storeCtime`). */
  ctime?: bigint;
  customMetadata: Map<string, Buffer>;
  /** The creator token BookKeeper uses to recognise its own create after a retry; 0n when not set. */
  cToken?: bigint;
}

export const INVALID_ENTRY_ID = -1n;
/** An upper bound well above any real ensemble (BookKeeper has none; the value must fit in one etcd value). */
export const ENSEMBLE_SIZE_MAX = 1024;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Throws `BadLedgerMetadataError` unless `md` keeps BookKeeper's invariants (LedgerMetadataBuilder + Impl). */
export function validateLedgerMetadata(md: LedgerMetadata): void {
  const fail = (detail: string): never => {
    throw new BadLedgerMetadataError(detail);
  };
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  if (!isCount(md.ensembleSize) || md.ensembleSize > ENSEMBLE_SIZE_MAX) {
    fail(`ensembleSize must be an integer in [1, ${ENSEMBLE_SIZE_MAX}], got ${md.ensembleSize}`);
  }
  if (!isCount(md.writeQuorumSize) || md.writeQuorumSize > md.ensembleSize) {
    fail(`writeQuorumSize must be in [1, ensembleSize=${md.ensembleSize}], got ${md.writeQuorumSize}`);
  }
  if (!isCount(md.ackQuorumSize) || md.ackQuorumSize > md.writeQuorumSize) {
    fail(`ackQuorumSize must be in [1, writeQuorumSize=${md.writeQuorumSize}], got ${md.ackQuorumSize}`);
  }
  if (!(md.state in LEDGER_STATE_CODES)) fail(`unknown state ${String(md.state)}`);
  if (typeof md.lastEntryId !== 'bigint' || typeof md.length !== 'bigint') {
    fail('lastEntryId and length must be bigints');
  }
  if (md.state === 'CLOSED') {
    if (md.lastEntryId < INVALID_ENTRY_ID || md.lastEntryId > INT64_MAX)
      fail(`bad lastEntryId ${md.lastEntryId}`);
    if (md.length < 0n || md.length > INT64_MAX) fail(`bad length ${md.length}`);
  } else {
    if (md.lastEntryId !== INVALID_ENTRY_ID) fail(`a ${md.state} ledger must have lastEntryId -1`);
    if (md.length !== 0n) fail(`a ${md.state} ledger must have length 0`);
  }
  if (!Array.isArray(md.ensembles) || md.ensembles.length === 0) {
    fail('there must be at least one ensemble');
  }
  let previous: bigint | undefined;
  for (const segment of md.ensembles) {
    const first = segment.firstEntryId;
    if (typeof first !== 'bigint' || first < 0n || first > INT64_MAX)
      fail(`bad firstEntryId ${String(first)}`);
    if (previous !== undefined && first <= previous) {
      fail(`ensembles must be ordered by firstEntryId, strictly ascending (${first} after ${previous})`);
    }
    previous = first;
    if (!Array.isArray(segment.ensemble) || segment.ensemble.length !== md.ensembleSize) {
      fail(`the ensemble from entry ${first} must have ensembleSize=${md.ensembleSize} bookies`);
    }
    for (const bookieId of segment.ensemble) {
      if (typeof bookieId !== 'string' || bookieId.length === 0) fail(`empty bookie id in ensemble ${first}`);
    }
  }
  if (!(md.digestType in DIGEST_TYPE_CODES)) fail(`unknown digestType ${String(md.digestType)}`);
  if (!Buffer.isBuffer(md.password)) fail('password must be a Buffer');
  if (
    md.ctime !== undefined &&
    (typeof md.ctime !== 'bigint' || md.ctime < INT64_MIN || md.ctime > INT64_MAX)
  ) {
    fail(`bad ctime ${String(md.ctime)}`);
  }
  if (
    md.cToken !== undefined &&
    (typeof md.cToken !== 'bigint' || md.cToken < INT64_MIN || md.cToken > INT64_MAX)
  ) {
    fail(`bad cToken ${String(md.cToken)}`);
  }
  if (!(md.customMetadata instanceof Map)) fail('customMetadata must be a Map');
  for (const [key, value] of md.customMetadata) {
    if (typeof key !== 'string' || !Buffer.isBuffer(value)) fail('customMetadata maps strings to Buffers');
  }
}

/** The ensemble that stores `entryId`: the last segment whose firstEntryId is at or below it. */
export function ensembleForEntry(md: LedgerMetadata, entryId: bigint): string[] {
  let found: LedgerSegment | undefined;
  for (const segment of md.ensembles) {
    if (segment.firstEntryId > entryId) break;
    found = segment;
  }
  if (found === undefined) throw new BadLedgerMetadataError(`no ensemble covers entry ${entryId}`);
  return found.ensemble;
}
