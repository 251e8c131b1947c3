import { BKError } from '../errors';
import type { BKCodeName } from '../errors';
import type { TransportError, TransportFailure } from './bookie-client';

/** The BookKeeper code each transport failure maps to (what a JVM client's callback would get). */
const BK_CODE_OF: Record<TransportFailure, BKCodeName> = {
  'connect-failed': 'BookieHandleNotAvailableException',
  'connection-lost': 'BookieHandleNotAvailableException',
  timeout: 'TimeoutException',
  'too-many-in-flight': 'TooManyRequestsException',
  'client-closed': 'ClientClosedException',
};

/**
 * Why a request to a bookie got no answer. A BKError (so it carries BookKeeper's code, `retriable` and the
 * ledger/entry/bookie it is about) that also implements the transport contract's TransportError.
 */
export class BookieTransportError extends BKError implements TransportError {
  readonly failure: TransportFailure;
  declare readonly bookieId: string;

  constructor(
    failure: TransportFailure,
    bookieId: string,
    message: string,
    options: { ledgerId?: bigint; entryId?: bigint; cause?: unknown } = {},
  ) {
    super(BK_CODE_OF[failure], message, { ...options, bookieId });
    this.failure = failure;
  }
}
