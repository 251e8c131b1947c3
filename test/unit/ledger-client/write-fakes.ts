import { clientConfig } from '../../../ledger-client/client-config';
import type { ClientConfig } from '../../../ledger-client/client-config';
import type { ClientContext } from '../../../ledger-client/client-context';
import { BKError } from '../../../ledger-client/errors';
import type {
  BookieView,
  EnsemblePlacementPolicy,
  PlacementRequest,
  ReplaceRequest,
} from '../../../ledger-client/placement/placement-policy';
import type {
  AddEntryCallback,
  AddEntryRequest,
  BookieClient,
  Outcome,
  TransportError,
  TransportFailure,
} from '../../../ledger-client/transport/bookie-client';
import { silentLogger } from '../../../common';
import { EmbeddedMetadataStore, LedgerIdGenerator, LedgerManager } from '../../../metadata';
import type { LedgerMetadata, MetadataStore, VersionedLedgerMetadata } from '../../../metadata';
import { StatusCode } from '../../../protocol';

/**
 * Fakes for the layers below the LedgerWriter: a scripted BookieClient (each add waits until the test answers
 * it), a placement policy over a fixed list of spare bookies, and a LedgerManager on a real embedded store whose
 * writes the test can hold back.
 */

export interface SentAdd {
  bookieId: string;
  request: AddEntryRequest;
  callback: AddEntryCallback;
}

export function transportError(bookieId: string, failure: TransportFailure): TransportError {
  return Object.assign(new Error(`fake ${failure}`), { failure, bookieId });
}

export class ScriptedBookieClient implements BookieClient {
  /** Adds sent and not yet answered, in send order. */
  readonly inFlight: SentAdd[] = [];
  /** Every add ever sent, as `bookieId/entryId`. */
  readonly sent: string[] = [];
  readonly writeLacs: Array<{ bookieId: string; lac: bigint; body: Buffer }> = [];
  readonly forced: string[] = [];
  forceStatus = StatusCode.EOK;
  private readonly listeners = new Set<(bookieId: string, error: TransportError) => void>();

  /** When set, every add fails at once with this failure, inside addEntry (as a transport may). */
  syncFailure: TransportFailure | undefined;

  addEntry(bookieId: string, request: AddEntryRequest, callback: AddEntryCallback): void {
    if (this.syncFailure !== undefined) {
      callback(undefined, transportError(bookieId, this.syncFailure), bookieId);
      return;
    }
    this.inFlight.push({ bookieId, request, callback });
    this.sent.push(`${bookieId}/${request.entryId}`);
  }

  /** Answers the in-flight add of `entryId` on `bookieId` with `status`. */
  answer(bookieId: string, entryId: bigint, status: StatusCode = StatusCode.EOK): void {
    this.take(bookieId, entryId).callback(status, undefined, bookieId);
  }

  /** Fails the in-flight add of `entryId` on `bookieId` with a transport failure. */
  failAdd(bookieId: string, entryId: bigint, failure: TransportFailure = 'timeout'): void {
    this.take(bookieId, entryId).callback(undefined, transportError(bookieId, failure), bookieId);
  }

  /** Answers OK to every in-flight add of `entryId`. */
  ackAll(entryId: bigint): void {
    for (const add of this.inFlight.filter((a) => a.request.entryId === entryId)) {
      this.answer(add.bookieId, entryId);
    }
  }

  has(bookieId: string, entryId: bigint): boolean {
    return this.inFlight.some((a) => a.bookieId === bookieId && a.request.entryId === entryId);
  }

  /** Tells the listeners that `bookieId`'s connection failed. */
  connectionFailed(bookieId: string): void {
    for (const listener of this.listeners) listener(bookieId, transportError(bookieId, 'connection-lost'));
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  private take(bookieId: string, entryId: bigint): SentAdd {
    const at = this.inFlight.findIndex((a) => a.bookieId === bookieId && a.request.entryId === entryId);
    if (at < 0) throw new Error(`no add of entry ${entryId} in flight on ${bookieId}`);
    return this.inFlight.splice(at, 1)[0]!;
  }

  readEntry(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }

  readLac(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }

  writeLac(
    bookieId: string,
    request: { ledgerId: bigint; lac: bigint; masterKey: Buffer; body: Buffer },
  ): Promise<Outcome<StatusCode>> {
    this.writeLacs.push({ bookieId, lac: request.lac, body: request.body });
    return Promise.resolve({ ok: true, value: StatusCode.EOK });
  }

  forceLedger(bookieId: string): Promise<Outcome<StatusCode>> {
    this.forced.push(bookieId);
    return Promise.resolve({ ok: true, value: this.forceStatus });
  }

  getBookieInfo(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }

  onBookieFailure(listener: (bookieId: string, error: TransportError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Replaces a failed bookie with the first spare not in the ensemble and not excluded. */
export class SparePlacement implements EnsemblePlacementPolicy {
  readonly failures: string[] = [];

  constructor(public spares: string[]) {}

  newEnsemble(request: PlacementRequest): string[] {
    if (this.spares.length < request.ensembleSize) {
      throw new BKError(
        'NotEnoughBookiesException',
        `need ${request.ensembleSize}, have ${this.spares.length}`,
      );
    }
    return this.spares.slice(0, request.ensembleSize);
  }

  replaceBookie(request: ReplaceRequest): string {
    const spare = this.spares.find((b) => !request.ensemble.includes(b) && !request.excludeBookies?.has(b));
    if (spare === undefined) throw new BKError('NotEnoughBookiesException', 'no spare bookie');
    return spare;
  }

  readOrder(writeSet: readonly string[]): number[] {
    return writeSet.map((_, i) => i);
  }

  recordFailure(bookieId: string): void {
    this.failures.push(bookieId);
  }

  recordSlow(): void {}

  recordSuccess(): void {}
}

/** A LedgerManager whose metadata writes wait for `hold` (when set) before they go to the store. */
export class GatedLedgerManager extends LedgerManager {
  hold: Promise<void> | undefined;
  writes = 0;

  override async writeLedgerMetadata(
    ledgerId: bigint,
    metadata: LedgerMetadata,
    expectedVersion: bigint,
  ): Promise<VersionedLedgerMetadata> {
    this.writes++;
    if (this.hold !== undefined) await this.hold;
    return super.writeLedgerMetadata(ledgerId, metadata, expectedVersion);
  }
}

export interface FakeContext extends ClientContext {
  readonly bookieClient: ScriptedBookieClient;
  readonly placement: SparePlacement;
  readonly ledgerManager: GatedLedgerManager;
  closed: boolean;
}

export async function openStore(dir: string): Promise<MetadataStore> {
  return EmbeddedMetadataStore.open({ dir, logger: silentLogger() });
}

export function fakeContext(
  store: MetadataStore,
  spares: string[],
  config: Partial<ClientConfig> = {},
): FakeContext {
  const logger = silentLogger();
  const bookies: BookieView = {
    writable: () => new Set(spares),
    readOnly: () => new Set(),
  };
  return {
    config: clientConfig(config),
    logger,
    bookieClient: new ScriptedBookieClient(),
    placement: new SparePlacement(spares),
    bookies,
    ledgerManager: new GatedLedgerManager(store, '/ledgers', logger),
    ledgerIdGenerator: new LedgerIdGenerator(store, '/ledgers', logger),
    closed: false,
    isClosed(this: FakeContext) {
      return this.closed;
    },
  };
}
