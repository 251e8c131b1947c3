/**
 * The ledger client's connections to bookies: the BookieClient contract and its pooled implementation.
 * See README.md.
 */
export type {
  AddEntryCallback,
  AddEntryRequest,
  BookieClient,
  BookieInfo,
  Outcome,
  ReadEntryRequest,
  ReadEntryResult,
  ReadLacResult,
  TransportError,
  TransportFailure,
} from './bookie-client';
export { BookieClientPool } from './bookie-client-pool';
export type { BookieClientPoolOptions } from './bookie-client-pool';
export { BookieTransportError } from './transport-error';
