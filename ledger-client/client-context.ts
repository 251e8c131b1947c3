import type { Logger } from '../common';
import type { LedgerManager, LedgerIdGenerator } from '../metadata';
import type { ClientConfig } from './client-config';
import type { BookieView, EnsemblePlacementPolicy } from './placement/placement-policy';
import type { BookieClient } from './transport/bookie-client';

/**
 * What every ledger operation of one client shares: connections, placement, metadata, settings, logger.
 * Built once by `BookKeeper.create` and passed down to handles and operations (no globals).
 */
export interface ClientContext {
  readonly config: ClientConfig;
  readonly logger: Logger;
  readonly bookieClient: BookieClient;
  readonly placement: EnsemblePlacementPolicy;
  readonly bookies: BookieView;
  readonly ledgerManager: LedgerManager;
  readonly ledgerIdGenerator: LedgerIdGenerator;
  /** True once the client is closed: new operations fail with ClientClosedException. */
  isClosed(): boolean;
}
