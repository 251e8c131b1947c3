import { StatusCode, statusCodeInfo } from '../../protocol';
import type { BKCodeName } from '../errors';
import type { TransportError } from '../transport/bookie-client';
export { metadataError, transportCodeName } from '../write/add-errors';

/**
 * How one bookie's answer to a read is described and classified. Reads collect these per replica and turn
 * the whole picture into one BKError when no replica could serve the entry.
 */

/** The BKError code for a bookie status other than EOK, ENOENTRY and ENOLEDGER. */
export function readStatusCode(status: StatusCode): BKCodeName {
  switch (status) {
    case StatusCode.EUA:
      return 'UnauthorizedAccessException';
    case StatusCode.EFENCED:
      return 'LedgerFencedException';
    case StatusCode.ETOOMANYREQUESTS:
      return 'TooManyRequestsException';
    case StatusCode.EBADVERSION:
      return 'ProtocolVersionException';
    case StatusCode.ENOENTRY:
    case StatusCode.ENOLEDGER:
      return 'NoSuchEntryException';
    default:
      return 'ReadException';
  }
}

/** `bookieId: what it said`, for error messages that list every replica's answer. */
export function describeStatus(bookieId: string, status: StatusCode): string {
  return `${bookieId} ${statusCodeInfo(status)?.name ?? `status ${status}`}`;
}

export function describeTransport(bookieId: string, error: TransportError): string {
  return `${bookieId} ${error.failure}`;
}

/** True for the answers that mean "this bookie does not have it". */
export function isMissing(status: StatusCode): boolean {
  return status === StatusCode.ENOENTRY || status === StatusCode.ENOLEDGER;
}
