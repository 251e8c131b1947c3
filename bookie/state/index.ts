// The bookie's state (writable, read-only, shutting down) and its registration in the metadata store.
export { BookieStateManager } from './bookie-state-manager';
export type {
  BookieState,
  BookieStateManagerOptions,
  ReadOnlyReason,
  ReleasableReadOnlyReason,
  Registration,
} from './bookie-state-manager';
export { BookieFatalError, ReadOnlyModeDisabledError } from './state-errors';
