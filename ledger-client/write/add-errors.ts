import { StatusCode } from '../../protocol';
import { BadVersionError, LedgerExistsError, NoSuchLedgerError } from '../../metadata';
import { BKError } from '../errors';
import type { BKCodeName, BKErrorOptions } from '../errors';
import type { TransportError } from '../transport/bookie-client';

/**
 * How the write side names what went wrong, as BookKeeper's client does (BKException codes): a bookie's status,
 * a transport failure and a metadata store error each become one BKError that says which ledger, entry and
 * bookie it is about.
 */

/** The BKException code for a bookie's non-OK status (BookKeeper's BookieProtocol → BKException mapping). */
export function statusCodeName(status: StatusCode): BKCodeName {
  switch (status) {
    case StatusCode.EFENCED:
      return 'LedgerFencedException';
    case StatusCode.EUA:
      return 'UnauthorizedAccessException';
    case StatusCode.EREADONLY:
      return 'WriteOnReadOnlyBookieException';
    case StatusCode.ENOLEDGER:
      return 'NoSuchLedgerExistsException';
    case StatusCode.ENOENTRY:
      return 'NoSuchEntryException';
    case StatusCode.ETOOMANYREQUESTS:
      return 'TooManyRequestsException';
    case StatusCode.EBADVERSION:
      return 'ProtocolVersionException';
    case StatusCode.EBADREQ:
      return 'IllegalOpException';
    default:
      return 'WriteException';
  }
}

/** The BKException code for a request that got no status. */
export function transportCodeName(error: TransportError): BKCodeName {
  switch (error.failure) {
    case 'client-closed':
      return 'ClientClosedException';
    case 'timeout':
      return 'TimeoutException';
    case 'too-many-in-flight':
      return 'TooManyRequestsException';
    default:
      return 'BookieHandleNotAvailableException';
  }
}

/** One BKError for what a bookie answered (`status`) or why it did not (`error`). */
export function bookieError(
  what: string,
  bookieId: string,
  status: StatusCode | undefined,
  error: TransportError | undefined,
  options: BKErrorOptions = {},
): BKError {
  const code = error !== undefined ? transportCodeName(error) : statusCodeName(status ?? StatusCode.EIO);
  const reason = error !== undefined ? `${error.failure}: ${error.message}` : `status ${StatusCode[status!]}`;
  return new BKError(code, `${what}: bookie ${bookieId} failed (${reason})`, {
    ...options,
    bookieId,
    cause: error,
  });
}

/**
 * A metadata store failure during `what`, as a BKError: a missing ledger is
 * NoSuchLedgerExistsOnMetadataServerException, an existing one LedgerExistException, a lost compare-and-set
 * MetadataVersionException, anything else (unreachable store, timeouts) MetaStoreException. BKErrors pass through.
 */
export function metadataError(what: string, ledgerId: bigint, error: unknown): BKError {
  if (error instanceof BKError) return error;
  const options = { ledgerId, cause: error };
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof NoSuchLedgerError) {
    return new BKError(
      'NoSuchLedgerExistsOnMetadataServerException',
      `${what}: ledger ${ledgerId} does not exist on the metadata server`,
      options,
    );
  }
  if (error instanceof LedgerExistsError) {
    return new BKError('LedgerExistException', `${what}: ledger ${ledgerId} already exists`, options);
  }
  if (error instanceof BadVersionError) {
    return new BKError('MetadataVersionException', `${what}: ledger ${ledgerId}: ${detail}`, options);
  }
  return new BKError('MetaStoreException', `${what}: ledger ${ledgerId}: ${detail}`, options);
}
