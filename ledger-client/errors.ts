import { LedgerlineError } from '../common';

/**
 * The ledger client's errors, after BookKeeper's BKException codes (client/api/BKException.Code). `bkCode` is
 * BookKeeper's number, so logs and tools can be compared with a JVM client's; `code` is our stable name.
 */
export const BK_CODES = {
  ReadException: -1,
  QuorumException: -2,
  NoBookieAvailableException: -3,
  DigestNotInitializedException: -4,
  DigestMatchException: -5,
  NotEnoughBookiesException: -6,
  NoSuchLedgerExistsException: -7,
  BookieHandleNotAvailableException: -8,
  ZKException: -9,
  LedgerRecoveryException: -10,
  LedgerClosedException: -11,
  WriteException: -12,
  NoSuchEntryException: -13,
  IncorrectParameterException: -14,
  InterruptedException: -15,
  ProtocolVersionException: -16,
  MetadataVersionException: -17,
  MetaStoreException: -18,
  LedgerExistException: -20,
  AddEntryQuorumTimeoutException: -21,
  DuplicateEntryIdException: -22,
  TimeoutException: -23,
  SecurityException: -24,
  NoSuchLedgerExistsOnMetadataServerException: -25,
  IllegalOpException: -100,
  LedgerFencedException: -101,
  UnauthorizedAccessException: -102,
  UnclosedFragmentException: -103,
  WriteOnReadOnlyBookieException: -104,
  TooManyRequestsException: -105,
  LedgerIdOverflowException: -106,
  ClientClosedException: -201,
} as const;

export type BKCodeName = keyof typeof BK_CODES;

/** Options every client error takes: the ledger and entry it is about, and the error beneath it. */
export interface BKErrorOptions {
  ledgerId?: bigint;
  entryId?: bigint;
  bookieId?: string;
  cause?: unknown;
}

const RETRIABLE: ReadonlySet<BKCodeName> = new Set<BKCodeName>([
  'BookieHandleNotAvailableException',
  'TimeoutException',
  'TooManyRequestsException',
  'MetadataVersionException',
  'NotEnoughBookiesException',
  'ZKException',
  'MetaStoreException',
]);

/** One class; `code` tells the cases apart (`error.code === 'LedgerFencedException'`). */
export class BKError extends LedgerlineError {
  readonly bkCode: number;
  readonly ledgerId: bigint | undefined;
  readonly entryId: bigint | undefined;
  readonly bookieId: string | undefined;

  constructor(code: BKCodeName, message: string, options: BKErrorOptions = {}) {
    super(code, message, { retriable: RETRIABLE.has(code), cause: options.cause });
    this.bkCode = BK_CODES[code];
    this.ledgerId = options.ledgerId;
    this.entryId = options.entryId;
    this.bookieId = options.bookieId;
  }
}

/** True when `error` is a BKError with the given code. */
export function isBKError(error: unknown, code?: BKCodeName): error is BKError {
  return error instanceof BKError && (code === undefined || error.code === code);
}
