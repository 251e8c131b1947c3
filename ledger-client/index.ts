export { BookieClientPool, BookieTransportError } from './transport';
export type {
  AddEntryCallback,
  AddEntryRequest,
  BookieClient,
  BookieClientPoolOptions,
  BookieInfo,
  Outcome,
  ReadEntryRequest,
  ReadEntryResult,
  ReadLacResult,
  TransportError,
  TransportFailure,
} from './transport';
export * from './placement';
