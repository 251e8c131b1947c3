import { silentLogger } from '../../../common';
import type { LedgerMetadata } from '../../../metadata';
import { DigestManager, DigestType, StatusCode, masterKey } from '../../../protocol';
import { clientConfig } from '../../../ledger-client/client-config';
import type { ClientConfig } from '../../../ledger-client/client-config';
import type { ClientContext } from '../../../ledger-client/client-context';
import type { EnsemblePlacementPolicy } from '../../../ledger-client/placement/placement-policy';
import type {
  BookieClient,
  Outcome,
  ReadEntryRequest,
  ReadEntryResult,
  TransportError,
  TransportFailure,
} from '../../../ledger-client/transport/bookie-client';
import type { LedgerView } from '../../../ledger-client/read/ledger-view';

/**
 * Fakes for the layer below the read side: a BookieClient whose bookies answer by script, and a placement
 * policy that records what readers report. Unit tests of reads and recovery drive them; the real transport
 * and bookies are exercised by the integration tests.
 */

export const LEDGER_ID = 42n;
export const PASSWORD = Buffer.from('read-test');
export const KEY = masterKey(PASSWORD);
export const digest = DigestManager.create(LEDGER_ID, PASSWORD, DigestType.CRC32C);

/** What a scripted bookie does with one read: answer now, answer later, or never. */
export type Answer = Outcome<ReadEntryResult> | 'hang' | Promise<Outcome<ReadEntryResult>>;
export type Script = (request: ReadEntryRequest) => Answer;

export function payloadOf(entryId: bigint): Buffer {
  return Buffer.from(`entry ${entryId} of ledger ${LEDGER_ID}`);
}

/** The packed entry as a writer would have stored it: LAC `lac`, cumulative length 100 per entry. */
export function bodyOf(entryId: bigint, lac = entryId - 1n): Buffer {
  return digest.packEntry(entryId, lac, (entryId + 1n) * 100n, payloadOf(entryId));
}

export function ok(body: Buffer | undefined, extra: Partial<ReadEntryResult> = {}): Outcome<ReadEntryResult> {
  return { ok: true, value: { status: StatusCode.EOK, ledgerId: LEDGER_ID, entryId: 0n, body, ...extra } };
}

export function status(code: StatusCode): Outcome<ReadEntryResult> {
  return { ok: true, value: { status: code, ledgerId: LEDGER_ID, entryId: 0n } };
}

export function transportFailure(bookieId: string, failure: TransportFailure): Outcome<ReadEntryResult> {
  const error: TransportError = Object.assign(new Error(`${failure} at ${bookieId}`), { failure, bookieId });
  return { ok: false, error };
}

/** A body whose payload was damaged after the digest was computed. */
export function corrupt(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
  return copy;
}

/** Bookies that serve every entry they are asked for, correctly. */
export const serveAll: Script = (request) => ok(bodyOf(request.entryId));

export class FakeBookieClient implements BookieClient {
  readonly requests: Array<{ bookieId: string; request: ReadEntryRequest }> = [];
  private readonly scripts = new Map<string, Script>();

  constructor(scripts: Record<string, Script> = {}) {
    for (const [bookieId, script] of Object.entries(scripts)) this.scripts.set(bookieId, script);
  }

  script(bookieId: string, script: Script): void {
    this.scripts.set(bookieId, script);
  }

  readsTo(bookieId: string): ReadEntryRequest[] {
    return this.requests.filter((r) => r.bookieId === bookieId).map((r) => r.request);
  }

  readEntry(bookieId: string, request: ReadEntryRequest): Promise<Outcome<ReadEntryResult>> {
    this.requests.push({ bookieId, request });
    const script = this.scripts.get(bookieId);
    const answer = script === undefined ? transportFailure(bookieId, 'connect-failed') : script(request);
    if (answer === 'hang') return new Promise(() => undefined);
    return Promise.resolve(answer);
  }

  addEntry(): void {
    throw new Error('not used by reads');
  }
  readLac(): never {
    throw new Error('not used by reads');
  }
  writeLac(): never {
    throw new Error('not used by reads');
  }
  forceLedger(): never {
    throw new Error('not used by reads');
  }
  getBookieInfo(): never {
    throw new Error('not used by reads');
  }
  onBookieFailure(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}

/** Reads in write-set order unless `order` says otherwise; records what readers report. */
export class RecordingPlacement implements EnsemblePlacementPolicy {
  readonly failed: string[] = [];
  readonly slow: string[] = [];
  readonly succeeded: string[] = [];

  constructor(private readonly order?: (writeSet: readonly string[]) => number[]) {}

  newEnsemble(): string[] {
    throw new Error('not used by reads');
  }
  replaceBookie(): string {
    throw new Error('not used by reads');
  }
  readOrder(writeSet: readonly string[]): number[] {
    return this.order?.(writeSet) ?? writeSet.map((_, index) => index);
  }
  recordFailure(bookieId: string): void {
    this.failed.push(bookieId);
  }
  recordSlow(bookieId: string): void {
    this.slow.push(bookieId);
  }
  recordSuccess(bookieId: string): void {
    this.succeeded.push(bookieId);
  }
}

export function metadataOf(
  ensembles: Array<{ firstEntryId: bigint; ensemble: string[] }>,
  quorum: { writeQuorumSize: number; ackQuorumSize: number },
): LedgerMetadata {
  return {
    ensembleSize: ensembles[0]!.ensemble.length,
    ...quorum,
    state: 'OPEN',
    lastEntryId: -1n,
    length: 0n,
    ensembles,
    digestType: 'CRC32C',
    password: PASSWORD,
    customMetadata: new Map(),
  };
}

export interface FakeReader extends LedgerView {
  readonly bookieClient: FakeBookieClient;
  readonly placement: RecordingPlacement;
}

/** A LedgerView over fakes: the client context has no metadata store (reads never touch it). */
export function fakeView(
  metadata: LedgerMetadata,
  bookieClient: FakeBookieClient,
  options: { placement?: RecordingPlacement; config?: Partial<ClientConfig> } = {},
): FakeReader {
  const placement = options.placement ?? new RecordingPlacement();
  const ctx = {
    config: clientConfig(options.config),
    logger: silentLogger(),
    bookieClient,
    placement,
    isClosed: () => false,
  } as unknown as ClientContext;
  return {
    ctx,
    ledgerId: LEDGER_ID,
    logger: silentLogger(),
    digest,
    metadata: () => metadata,
    bookieClient,
    placement,
  };
}

/** The ensemble most tests read from, with Qw=2 (entries on two of three bookies) and with Qw=3, Qa=2. */
export const ENSEMBLE = ['b0:3181', 'b1:3181', 'b2:3181'];
export const E3_W2 = metadataOf([{ firstEntryId: 0n, ensemble: ENSEMBLE }], {
  writeQuorumSize: 2,
  ackQuorumSize: 2,
});
export const E3_W3_A2 = metadataOf([{ firstEntryId: 0n, ensemble: ENSEMBLE }], {
  writeQuorumSize: 3,
  ackQuorumSize: 2,
});
