/**
 * ledger-client > transport > the local transport: BookieClientPool reaching a bookie registered in this process
 * (protocol/local-bookies.ts) without a socket. The endpoint here is a fake bookie's request handler (the layer
 * below); the real one, the bookie's RequestProcessor, is exercised by every standalone test, which uses it.
 * Assertions are on what a caller of the pool sees.
 */
import { silentLogger } from '../../../../common';
import {
  AddRequestFlag,
  HIGH_PRIORITY,
  OperationType,
  ReadRequestFlag,
  StatusCode,
  WriteFlag,
  localBookies,
} from '../../../../protocol';
import type { LocalBookieEndpoint, Request, Response } from '../../../../protocol';
import { clientConfig } from '../../../../ledger-client/client-config';
import type { ClientConfig } from '../../../../ledger-client/client-config';
import { BookieClientPool, BookieTransportError } from '../../../../ledger-client/transport';
import type { AddEntryRequest, TransportError } from '../../../../ledger-client/transport';

const BOOKIE = 'local-bookie:3181';
const MASTER_KEY = Buffer.alloc(20, 7);

/** Answers as the test says: `respond` per request, or holds it (hold: true) until the test answers. */
class FakeEndpoint implements LocalBookieEndpoint {
  readonly received: Request[] = [];
  readonly held: Array<{ request: Request; respond: (response: Response) => void; signal?: AbortSignal }> =
    [];
  hold = false;
  /** The body of every read answer. Answers not held are given synchronously, inside process(). */
  body = Buffer.from('entry-body');

  process(request: Request, respond: (response: Response) => void, signal: AbortSignal | undefined): void {
    this.received.push(request);
    if (this.hold) {
      this.held.push({ request, respond, signal });
      return;
    }
    respond(this.answer(request));
  }

  answer(request: Request): Response {
    const { header } = request;
    if (header.operation === OperationType.ADD_ENTRY) {
      const add = request.addRequest!;
      return {
        header,
        status: StatusCode.EOK,
        addResponse: { status: StatusCode.EOK, ledgerId: add.ledgerId, entryId: add.entryId },
      };
    }
    const read = request.readRequest!;
    return {
      header,
      status: StatusCode.EOK,
      readResponse: {
        status: StatusCode.EOK,
        ledgerId: read.ledgerId,
        entryId: read.entryId,
        body: this.body,
      },
    };
  }
}

describe('ledger-client > transport > local transport', () => {
  const pools: BookieClientPool[] = [];
  let endpoint: FakeEndpoint;

  function pool(config: Partial<ClientConfig> = {}): BookieClientPool {
    const created = new BookieClientPool({
      config: clientConfig(config),
      logger: silentLogger(),
      timeoutSweepIntervalMs: 20,
    });
    pools.push(created);
    return created;
  }

  /** An add of entry `entryId` of ledger 1 (body `e<id>` unless `fields` say otherwise). */
  function add(client: BookieClientPool, entryId: bigint, fields: Partial<AddEntryRequest> = {}) {
    return new Promise<{ status: StatusCode | undefined; error: TransportError | undefined }>((resolve) =>
      client.addEntry(
        BOOKIE,
        { ledgerId: 1n, entryId, masterKey: MASTER_KEY, body: Buffer.from(`e${entryId}`), ...fields },
        (status, error) => resolve({ status, error }),
      ),
    );
  }

  beforeEach(() => {
    endpoint = new FakeEndpoint();
    localBookies.register(BOOKIE, endpoint);
  });

  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
    localBookies.unregister(BOOKIE, endpoint);
  });

  test('adds and reads reach the registered bookie as v3 requests and come back with its answers', async () => {
    const client = pool();
    expect(await add(client, 0n)).toEqual({ status: StatusCode.EOK, error: undefined });
    const read = await client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 0n });
    expect(read.ok && read.value.status).toBe(StatusCode.EOK);
    expect(read.ok && read.value.body?.toString()).toBe('entry-body');
    const [sentAdd, sentRead] = endpoint.received;
    expect(sentAdd!.addRequest).toMatchObject({ ledgerId: 1n, entryId: 0n });
    expect(sentAdd!.addRequest!.body.toString()).toBe('e0');
    expect(sentRead!.readRequest).toMatchObject({ ledgerId: 1n, entryId: 0n });
  });

  test('every kind of request reaches the bookie with the fields a decoded frame would carry', async () => {
    const client = pool();
    // A recovery add, deferred sync: sent as the pool's message, not encoded.
    const recovery = await add(client, 4n, {
      body: Buffer.from('whole'),
      recoveryAdd: true,
      deferredSync: true,
    });
    expect(recovery.status).toBe(StatusCode.EOK);
    // A large add packed in parts (header, then the caller's payload): encoded once, decoded here, whole.
    const parts = await add(client, 5n, {
      body: Buffer.from('head-'),
      payload: Buffer.alloc(70 * 1024, 'p'),
    });
    expect(parts.status).toBe(StatusCode.EOK);
    await client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 2n, fence: true, masterKey: MASTER_KEY });
    await client.readEntry(BOOKIE, {
      ledgerId: 1n,
      entryId: 3n,
      previousLAC: 2n,
      longPollTimeoutMs: 50,
      piggyback: true,
    });
    const [recoveryAdd, partsAdd, fence, longPoll] = endpoint.received;
    expect(recoveryAdd!.header).toMatchObject({
      operation: OperationType.ADD_ENTRY,
      priority: HIGH_PRIORITY,
    });
    expect(recoveryAdd!.addRequest).toMatchObject({
      ledgerId: 1n,
      entryId: 4n,
      flag: AddRequestFlag.RECOVERY_ADD,
      writeFlags: WriteFlag.DEFERRED_SYNC,
    });
    expect(recoveryAdd!.addRequest!.body.toString()).toBe('whole');
    expect(recoveryAdd!.addRequest!.masterKey.equals(MASTER_KEY)).toBe(true);
    const whole = partsAdd!.addRequest!.body;
    expect(whole.length).toBe(5 + 70 * 1024);
    expect(whole.subarray(0, 5).toString()).toBe('head-');
    expect(whole.subarray(5).equals(Buffer.alloc(70 * 1024, 'p'))).toBe(true);
    expect(fence!.readRequest).toMatchObject({ entryId: 2n, flag: ReadRequestFlag.FENCE_LEDGER });
    expect(fence!.readRequest!.masterKey!.equals(MASTER_KEY)).toBe(true);
    expect(longPoll!.readRequest).toMatchObject({
      entryId: 3n,
      previousLAC: 2n,
      timeOut: 50n,
      flag: ReadRequestFlag.ENTRY_PIGGYBACK,
    });
    // Every request got its own txnId.
    const txnIds = endpoint.received.map((request) => request.header.txnId);
    expect(new Set(txnIds).size).toBe(txnIds.length);
  });

  test('an answer never completes inside the call that sent it', async () => {
    const client = pool();
    let completed = false;
    client.addEntry(
      BOOKIE,
      { ledgerId: 1n, entryId: 0n, masterKey: MASTER_KEY, body: Buffer.alloc(1) },
      () => {
        completed = true;
      },
    );
    expect(endpoint.received).toHaveLength(1); // the fake answered inside process()
    expect(completed).toBe(false);
    await Promise.resolve();
    expect(completed).toBe(true);
  });

  test("a read's body is the client's own copy, not a view of the bookie's memory", async () => {
    const client = pool();
    const block = Buffer.alloc(64 * 1024, 1);
    endpoint.body = block.subarray(100, 110);
    const read = await client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 0n });
    const body = read.ok ? read.value.body! : Buffer.alloc(0);
    expect(body.equals(block.subarray(100, 110))).toBe(true);
    block.fill(2);
    expect(body.equals(Buffer.alloc(10, 1))).toBe(true);
  });

  test('an unanswered request times out; its late answer is dropped', async () => {
    const client = pool({ readEntryTimeoutSec: 0.1 });
    endpoint.hold = true;
    const started = Date.now();
    const read = await client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 0n });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(read.ok ? 'answered' : read.error.failure).toBe('timeout');
    const late = endpoint.held[0]!;
    late.respond(endpoint.answer(late.request)); // nothing left to complete: no throw, nothing happens
    await Promise.resolve();
  });

  test('past maxPendingRequestsPerBookie a request fails fast with too-many-in-flight', async () => {
    const client = pool({ maxPendingRequestsPerBookie: 2 });
    endpoint.hold = true;
    const first = client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 0n });
    const second = client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 1n });
    const third = await client.readEntry(BOOKIE, { ledgerId: 1n, entryId: 2n });
    expect(third.ok ? 'answered' : third.error.failure).toBe('too-many-in-flight');
    for (const { request, respond } of endpoint.held) respond(endpoint.answer(request));
    expect((await first).ok && (await second).ok).toBe(true);
  });

  test('a bookie that stopped serving here fails requests as unreachable and tells the failure listeners', async () => {
    const client = pool();
    expect((await add(client, 0n)).status).toBe(StatusCode.EOK);
    const failures: string[] = [];
    client.onBookieFailure((bookieId, error) => failures.push(`${bookieId} ${error.failure}`));
    localBookies.unregister(BOOKIE, endpoint);
    const after = await add(client, 1n);
    expect(after.error?.failure).toBe('connect-failed');
    expect(after.error).toBeInstanceOf(BookieTransportError);
    expect((after.error as BookieTransportError).code).toBe('BookieHandleNotAvailableException');
    expect(failures).toEqual([`${BOOKIE} connect-failed`]);
  });

  test('closing the client fails what is outstanding and aborts its long polls at the bookie', async () => {
    const client = pool();
    endpoint.hold = true;
    const poll = client.readEntry(BOOKIE, {
      ledgerId: 1n,
      entryId: -1n,
      previousLAC: 5n,
      longPollTimeoutMs: 10_000,
    });
    await client.close();
    const outcome = await poll;
    expect(outcome.ok ? 'answered' : outcome.error.failure).toBe('client-closed');
    expect(endpoint.held[0]!.signal?.aborted).toBe(true);
    expect((await add(client, 0n)).error?.failure).toBe('client-closed');
  });
});
