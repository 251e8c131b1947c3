/**
 * ledger-client > transport > BookieClientPool against an in-process fake bookie over real TCP on 127.0.0.1:
 * matching by txnId, the flags on the wire, timeouts, malformed answers, connect failures and backoff, lost
 * connections, bounds and close. Assertions are on what a caller of the pool sees (statuses, failures, their
 * codes and messages, listener calls) and on what the bookie received.
 */
import type { Socket } from 'node:net';
import pino from 'pino';
import { freePort } from '../../../harness';
import { silentLogger } from '../../../../common';
import {
  AddRequestFlag,
  HIGH_PRIORITY,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  StatusCode,
  WriteFlag,
  encodeResponseFrame,
} from '../../../../protocol';
import { clientConfig } from '../../../../ledger-client/client-config';
import type { ClientConfig } from '../../../../ledger-client/client-config';
import { BKError } from '../../../../ledger-client/errors';
import { BookieClientPool, BookieTransportError } from '../../../../ledger-client/transport';
import type { AddEntryRequest, TransportError } from '../../../../ledger-client/transport';
import { FakeBookie, answerFor } from './fake-bookie';

const MASTER_KEY = Buffer.alloc(20, 7);

interface AddOutcome {
  status: StatusCode | undefined;
  error: TransportError | undefined;
  bookieId: string;
}

function add(
  pool: BookieClientPool,
  bookieId: string,
  request: Partial<AddEntryRequest> = {},
): Promise<AddOutcome> {
  return new Promise((resolve) => {
    pool.addEntry(
      bookieId,
      { ledgerId: 1n, entryId: 0n, masterKey: MASTER_KEY, body: Buffer.from('entry'), ...request },
      (status, error, id) => resolve({ status, error, bookieId: id }),
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('ledger-client > transport > BookieClientPool', () => {
  const pools: BookieClientPool[] = [];
  const fakes: FakeBookie[] = [];

  function pool(
    config: Partial<ClientConfig> = {},
    options: { sweepMs?: number; logger?: pino.Logger } = {},
  ) {
    const created = new BookieClientPool({
      config: clientConfig(config),
      logger: options.logger ?? silentLogger(),
      timeoutSweepIntervalMs: options.sweepMs ?? 20,
    });
    pools.push(created);
    return created;
  }

  async function fake(port = 0): Promise<FakeBookie> {
    const started = await FakeBookie.start(port);
    fakes.push(started);
    return started;
  }

  afterEach(async () => {
    for (const p of pools.splice(0)) await p.close();
    for (const f of fakes.splice(0)) await f.stop();
  });

  describe('requests and answers', () => {
    test('answers that come back in any order reach the request with their txnId', async () => {
      const bookie = await fake();
      const held: Parameters<FakeBookie['onRequest']>[0][] = [];
      bookie.onRequest = (received) => {
        held.push(received);
        if (held.length === 21) {
          // Reverse order; each entry gets a status of its own so a mix-up would show.
          for (const r of held.reverse()) {
            const entryId = r.request.addRequest?.entryId;
            r.answer(
              entryId === undefined
                ? StatusCode.ENOENTRY
                : entryId % 2n === 0n
                  ? StatusCode.EOK
                  : StatusCode.EFENCED,
            );
          }
        }
      };
      const client = pool();
      const adds = Array.from({ length: 20 }, (_, i) => add(client, bookie.bookieId, { entryId: BigInt(i) }));
      const read = client.readEntry(bookie.bookieId, { ledgerId: 1n, entryId: 42n });
      const outcomes = await Promise.all(adds);
      outcomes.forEach((outcome, i) => {
        expect(outcome).toEqual({
          status: i % 2 === 0 ? StatusCode.EOK : StatusCode.EFENCED,
          error: undefined,
          bookieId: bookie.bookieId,
        });
      });
      expect(await read).toEqual({
        ok: true,
        value: {
          status: StatusCode.ENOENTRY,
          ledgerId: 1n,
          entryId: 42n,
          body: undefined,
          maxLAC: undefined,
        },
      });
      expect(bookie.sockets).toHaveLength(1);
      const txnIds = bookie.requests.map((r) => r.request.header.txnId);
      expect(new Set(txnIds).size).toBe(21);
    });

    test('batches written while the bookie reads nothing reach it intact when it reads again (write buffers are reused only once written)', async () => {
      const bookie = await fake();
      const client = pool();
      // The bookie stops reading as soon as it accepts: the kernel's buffers fill, then the socket's.
      await add(client, bookie.bookieId, { entryId: 0n });
      for (const socket of bookie.sockets) socket.pause();
      const bodyOf = (entryId: number) => Buffer.alloc(8 * 1024, entryId % 251);
      const adds: Promise<AddOutcome>[] = [];
      let entryId = 1;
      // 12 ticks of 96 adds of 8 KiB, ~9 MiB in all: several batch buffers per tick, many more than are kept.
      for (let tick = 0; tick < 12; tick++) {
        for (let i = 0; i < 96; i++, entryId++) {
          adds.push(add(client, bookie.bookieId, { entryId: BigInt(entryId), body: bodyOf(entryId) }));
        }
        await sleep(1);
      }
      for (const socket of bookie.sockets) socket.resume();
      const outcomes = await Promise.all(adds);
      expect(outcomes.every((outcome) => outcome.status === StatusCode.EOK)).toBe(true);
      const received = bookie.received(OperationType.ADD_ENTRY).slice(1);
      expect(received.map((r) => Number(r.request.addRequest!.entryId))).toEqual(
        Array.from({ length: entryId - 1 }, (_, i) => i + 1),
      );
      for (const r of received) {
        expect(r.request.addRequest!.body.equals(bodyOf(Number(r.request.addRequest!.entryId)))).toBe(true);
      }
    });

    test('thousands of adds issued in one go, many batches in one tick, reach the bookie intact and in order', async () => {
      const bookie = await fake();
      const client = pool();
      // Every body differs from its neighbours', so a batch buffer reused while the socket still held it would
      // show as a wrong body (or a frame the bookie cannot parse).
      const bodyOf = (entryId: number) => Buffer.alloc(1000 + (entryId % 97), entryId % 251);
      const count = 3000;
      const adds: Promise<AddOutcome>[] = [];
      for (let entryId = 0; entryId < count; entryId++) {
        adds.push(add(client, bookie.bookieId, { entryId: BigInt(entryId), body: bodyOf(entryId) }));
      }
      const outcomes = await Promise.all(adds);
      expect(outcomes.filter((outcome) => outcome.status !== StatusCode.EOK)).toEqual([]);
      const received = bookie.received(OperationType.ADD_ENTRY);
      expect(received.map((r) => Number(r.request.addRequest!.entryId))).toEqual(
        Array.from({ length: count }, (_, i) => i),
      );
      const wrong = received.filter(
        (r) => !r.request.addRequest!.body.equals(bodyOf(Number(r.request.addRequest!.entryId))),
      );
      expect(wrong.length).toBe(0);
    });

    test('one add sent to each bookie of a write set reaches each with its own answer; a bookie never gets one txnId twice', async () => {
      const [a, b, c] = [await fake(), await fake(), await fake()];
      b.onRequest = (received) => received.answer(StatusCode.EFENCED);
      const client = pool();
      const request: AddEntryRequest = {
        ledgerId: 9n,
        entryId: 4n,
        masterKey: MASTER_KEY,
        body: Buffer.from('the same entry for every replica'),
      };
      const outcomes: Array<Promise<AddOutcome>> = [];
      const send = (bookieId: string, addRequest: AddEntryRequest): void => {
        outcomes.push(
          new Promise((resolve) =>
            client.addEntry(bookieId, addRequest, (status, error, id) =>
              resolve({ status, error, bookieId: id }),
            ),
          ),
        );
      };
      // As a writer does it: the write set in one go; then the same add to a bookie again (a resend), and
      // another entry.
      send(a.bookieId, request);
      send(b.bookieId, request);
      send(c.bookieId, request);
      send(a.bookieId, request);
      send(c.bookieId, { ...request, entryId: 5n });
      expect((await Promise.all(outcomes)).map((o) => [o.bookieId, o.status, o.error])).toEqual([
        [a.bookieId, StatusCode.EOK, undefined],
        [b.bookieId, StatusCode.EFENCED, undefined],
        [c.bookieId, StatusCode.EOK, undefined],
        [a.bookieId, StatusCode.EOK, undefined],
        [c.bookieId, StatusCode.EOK, undefined],
      ]);
      const adds = [a, b, c].map((bookie) => bookie.received(OperationType.ADD_ENTRY).map((r) => r.request));
      for (const received of adds.flat()) {
        expect(received.addRequest).toMatchObject({
          ledgerId: 9n,
          masterKey: MASTER_KEY,
          body: request.body,
        });
      }
      const [onA, onB, onC] = adds;
      expect(onA!.map((r) => r.addRequest!.entryId)).toEqual([4n, 4n]);
      expect(onA![0]!.header.txnId).not.toBe(onA![1]!.header.txnId);
      expect(onB!.map((r) => r.addRequest!.entryId)).toEqual([4n]);
      expect(onC!.map((r) => r.addRequest!.entryId)).toEqual([4n, 5n]);
      expect(onC![0]!.header.txnId).not.toBe(onC![1]!.header.txnId);
    });

    test('requests carry the v3 header and the flags the bookie reads', async () => {
      const bookie = await fake();
      const client = pool();
      const id = bookie.bookieId;
      await add(client, id, { entryId: 1n });
      await add(client, id, { entryId: 2n, recoveryAdd: true });
      await add(client, id, { entryId: 3n, deferredSync: true });
      await client.readEntry(id, { ledgerId: 1n, entryId: 5n });
      await client.readEntry(id, {
        ledgerId: 1n,
        entryId: -1n,
        fence: true,
        masterKey: MASTER_KEY,
        highPriority: true,
      });
      await client.readEntry(id, {
        ledgerId: 1n,
        entryId: -1n,
        previousLAC: 9n,
        longPollTimeoutMs: 30,
        piggyback: true,
      });
      await client.readEntry(id, { ledgerId: 1n, entryId: 4n, previousLAC: 3n, longPollTimeoutMs: 40 });
      const [plain, recovery, deferred] = bookie.received(OperationType.ADD_ENTRY).map((r) => r.request);
      expect(plain!.header).toEqual({
        version: ProtocolVersion.VERSION_THREE,
        operation: OperationType.ADD_ENTRY,
        txnId: expect.any(BigInt),
      });
      expect(plain!.addRequest).toEqual({
        ledgerId: 1n,
        entryId: 1n,
        masterKey: MASTER_KEY,
        body: Buffer.from('entry'),
      });
      expect(recovery!.addRequest!.flag).toBe(AddRequestFlag.RECOVERY_ADD);
      expect(recovery!.header.priority).toBe(HIGH_PRIORITY);
      expect(deferred!.addRequest!.writeFlags).toBe(WriteFlag.DEFERRED_SYNC);
      expect(deferred!.addRequest!.flag).toBeUndefined();

      const [read, fence, piggyback, longPoll] = bookie
        .received(OperationType.READ_ENTRY)
        .map((r) => r.request);
      expect(read!.readRequest).toEqual({ ledgerId: 1n, entryId: 5n });
      expect(read!.header.priority).toBeUndefined();
      expect(fence!.readRequest).toEqual({
        ledgerId: 1n,
        entryId: -1n,
        flag: ReadRequestFlag.FENCE_LEDGER,
        masterKey: MASTER_KEY,
      });
      expect(fence!.header.priority).toBe(HIGH_PRIORITY);
      expect(piggyback!.readRequest).toEqual({
        ledgerId: 1n,
        entryId: -1n,
        flag: ReadRequestFlag.ENTRY_PIGGYBACK,
        previousLAC: 9n,
        timeOut: 30n,
      });
      expect(longPoll!.readRequest).toEqual({ ledgerId: 1n, entryId: 4n, previousLAC: 3n, timeOut: 40n });
    });

    test('readLac, writeLac, forceLedger and getBookieInfo send their messages and return the answers', async () => {
      const bookie = await fake();
      const client = pool();
      const id = bookie.bookieId;
      const lacBlob = Buffer.from('lac-blob');
      expect(
        await client.writeLac(id, { ledgerId: 3n, lac: 8n, masterKey: MASTER_KEY, body: lacBlob }),
      ).toEqual({
        ok: true,
        value: StatusCode.EOK,
      });
      bookie.onRequest = (received) => received.answer(StatusCode.ENOLEDGER);
      expect(await client.readLac(id, 3n)).toEqual({
        ok: true,
        value: { status: StatusCode.ENOLEDGER, lacBody: undefined, lastEntryBody: undefined },
      });
      expect(await client.forceLedger(id, 3n)).toEqual({ ok: true, value: StatusCode.ENOLEDGER });
      expect(await client.getBookieInfo(id)).toEqual({
        ok: true,
        value: { status: StatusCode.ENOLEDGER, totalDiskCapacity: 1000n, freeDiskSpace: 400n },
      });
      const requests = bookie.requests.map((r) => r.request);
      expect(requests[0]!.writeLacRequest).toEqual({
        ledgerId: 3n,
        lac: 8n,
        masterKey: MASTER_KEY,
        body: lacBlob,
      });
      expect(requests[1]!.readLacRequest).toEqual({ ledgerId: 3n });
      expect(requests[2]!.forceLedgerRequest).toEqual({ ledgerId: 3n });
      expect(requests[3]!.getBookieInfoRequest).toEqual({ requested: 3n });
    });

    test('adds made in one tick leave in batches of at most 64 frames per socket write', async () => {
      const bookie = await fake();
      const client = pool();
      await add(client, bookie.bookieId); // connected, so the next adds are written at once
      const adds = Array.from({ length: 256 }, (_, i) =>
        add(client, bookie.bookieId, { entryId: BigInt(i + 1) }),
      );
      const outcomes = await Promise.all(adds);
      expect(outcomes.every((o) => o.status === StatusCode.EOK)).toBe(true);
      // One chunk for the first add, then 256 / 64 = 4 writes (loopback may merge them, never split these).
      expect(bookie.chunksPerConnection[0]).toBeLessThanOrEqual(5);
      expect(bookie.chunksPerConnection[0]).toBeGreaterThanOrEqual(2);
    });

    test('requests made while connecting wait and are sent, in order, once connected', async () => {
      const bookie = await fake();
      const client = pool();
      const adds = Array.from({ length: 10 }, (_, i) => add(client, bookie.bookieId, { entryId: BigInt(i) }));
      expect((await Promise.all(adds)).map((o) => o.status)).toEqual(Array(10).fill(StatusCode.EOK));
      expect(bookie.received(OperationType.ADD_ENTRY).map((r) => r.request.addRequest!.entryId)).toEqual(
        Array.from({ length: 10 }, (_, i) => BigInt(i)),
      );
      expect(bookie.sockets).toHaveLength(1);
    });
  });

  describe('timeouts', () => {
    test('an unanswered request fails with timeout after its timeoutMs; the connection stays and a late answer is dropped', async () => {
      const bookie = await fake();
      const silent: Parameters<FakeBookie['onRequest']>[0][] = [];
      bookie.onRequest = (received) => {
        if (received.request.addRequest?.entryId === 7n) silent.push(received);
        else received.answer();
      };
      const client = pool();
      const started = Date.now();
      const timedOut = await add(client, bookie.bookieId, { ledgerId: 5n, entryId: 7n, timeoutMs: 200 });
      const elapsed = Date.now() - started;
      expect(timedOut.status).toBeUndefined();
      expect(timedOut.error).toBeInstanceOf(BookieTransportError);
      expect(timedOut.error).toBeInstanceOf(BKError);
      expect(timedOut.error).toMatchObject({
        failure: 'timeout',
        code: 'TimeoutException',
        retriable: true,
        bookieId: bookie.bookieId,
        ledgerId: 5n,
        entryId: 7n,
      });
      expect(timedOut.error!.message).toBe(
        `add of entry 7 of ledger 5 to bookie ${bookie.bookieId}: no answer within 200 ms`,
      );
      expect(elapsed).toBeGreaterThanOrEqual(195);
      expect(elapsed).toBeLessThan(2000);

      silent[0]!.answer(); // too late: dropped
      expect((await add(client, bookie.bookieId, { entryId: 8n })).status).toBe(StatusCode.EOK);
      expect(bookie.sockets).toHaveLength(1);
    });

    test('without timeoutMs, adds wait addEntryTimeoutSec and reads readEntryTimeoutSec; a long poll waits its own timeout on top', async () => {
      const bookie = await fake();
      bookie.onRequest = () => undefined; // never answers
      const client = pool({ addEntryTimeoutSec: 1, readEntryTimeoutSec: 2 });
      const started = Date.now();
      const elapsed = async (p: Promise<unknown>): Promise<number> => {
        await p;
        return Date.now() - started;
      };
      const [addMs, readMs, longPollMs] = await Promise.all([
        elapsed(add(client, bookie.bookieId)),
        elapsed(client.readEntry(bookie.bookieId, { ledgerId: 1n, entryId: 0n })),
        elapsed(
          client.readEntry(bookie.bookieId, {
            ledgerId: 1n,
            entryId: -1n,
            previousLAC: 0n,
            longPollTimeoutMs: 1000,
          }),
        ),
      ]);
      expect(addMs).toBeGreaterThanOrEqual(995);
      expect(addMs).toBeLessThan(1900);
      expect(readMs).toBeGreaterThanOrEqual(1995);
      expect(readMs).toBeLessThan(2900);
      expect(longPollMs).toBeGreaterThanOrEqual(2995);
      expect(longPollMs).toBeLessThan(3900);
    });

    test('a thousand requests waiting hold no timer of their own, and the pool holds none that keeps the process alive', async () => {
      const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      const bookie = await fake();
      bookie.onRequest = () => undefined;
      const client = pool();
      const outcomes = Array.from({ length: 1000 }, (_, i) =>
        add(client, bookie.bookieId, { entryId: BigInt(i), timeoutMs: 300 }),
      );
      await until('the bookie to receive every add', () => bookie.requests.length === 1000);
      // At most as many as before: a timer an earlier test left running (its socket's, a long poll's) may have
      // ended meanwhile; what must not happen is one more timer, let alone one per request.
      expect(timers()).toBeLessThanOrEqual(before);
      const failures = (await Promise.all(outcomes)).map((o) => o.error?.failure);
      expect(failures).toEqual(Array(1000).fill('timeout'));
    });
  });

  describe('malformed answers', () => {
    async function expectConnectionClosedBy(send: (socket: Socket) => void, reason: string) {
      const bookie = await fake();
      const lines: Array<{ level: number; msg: string; reason?: string; bookieId?: string }> = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const client = pool({}, { logger });
      const heard: Array<[string, TransportError]> = [];
      client.onBookieFailure((id, error) => heard.push([id, error]));
      bookie.onRequest = (received) => {
        if (bookie.requests.length === 3) send(received.socket);
      };
      const outcomes = await Promise.all([
        add(client, bookie.bookieId, { ledgerId: 4n, entryId: 0n }),
        add(client, bookie.bookieId, { ledgerId: 4n, entryId: 1n }),
        client.readEntry(bookie.bookieId, { ledgerId: 4n, entryId: 0n }),
      ]);
      for (const outcome of outcomes.slice(0, 2) as AddOutcome[]) {
        expect(outcome.error).toMatchObject({
          failure: 'connection-lost',
          code: 'BookieHandleNotAvailableException',
        });
        expect(outcome.error!.message).toContain(`to bookie ${bookie.bookieId}: connection lost (${reason}`);
      }
      expect(outcomes[2]).toMatchObject({ ok: false, error: { failure: 'connection-lost' } });
      expect(heard).toHaveLength(1);
      expect(heard[0]![0]).toBe(bookie.bookieId);
      expect(heard[0]![1].failure).toBe('connection-lost');
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'connection to bookie lost',
          reason,
          bookieId: bookie.bookieId,
        }),
      );
      // The pool survived; the next request reconnects.
      bookie.onRequest = (received) => received.answer();
      expect((await add(client, bookie.bookieId)).status).toBe(StatusCode.EOK);
      expect(bookie.sockets).toHaveLength(2);
    }

    test('a frame longer than nettyMaxFrameSizeBytes closes the connection and fails its requests', async () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(5_242_881);
      await expectConnectionClosedBy((socket) => socket.write(header), 'malformed frame from the bookie');
    });

    test('a frame that is not a v3 Response closes the connection and fails its requests', async () => {
      const junk = Buffer.from([0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]);
      await expectConnectionClosedBy((socket) => socket.write(junk), 'undecodable response from the bookie');
    });

    test('an answer whose operation differs from its request closes the connection', async () => {
      await expectConnectionClosedBy((socket) => {
        const response = answerFor(
          {
            header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.READ_LAC, txnId: 1n },
            readLacRequest: { ledgerId: 4n },
          },
          StatusCode.EOK,
        );
        socket.write(encodeResponseFrame(response));
      }, 'response to txnId 1 is operation 7, the request was 2');
    });
  });

  describe('connecting', () => {
    test('a refused connect fails with connect-failed; during the backoff requests fail fast; after it the pool connects again', async () => {
      const port = await freePort();
      const bookieId = `127.0.0.1:${port}`;
      const client = pool({ reconnectBackoffMs: 1000, reconnectBackoffMaxMs: 5000 });
      const heard: TransportError[] = [];
      client.onBookieFailure((_id, error) => heard.push(error));

      const refused = await add(client, bookieId, { ledgerId: 2n, entryId: 3n });
      expect(refused.error).toMatchObject({
        failure: 'connect-failed',
        code: 'BookieHandleNotAvailableException',
      });
      expect(refused.error!.message).toContain(
        `add of entry 3 of ledger 2 to bookie ${bookieId}: cannot connect (`,
      );
      expect(refused.error!.message).toContain('ECONNREFUSED');
      expect(heard.map((e) => e.failure)).toEqual(['connect-failed']);

      const bookie = await fake(port);
      const fast = await add(client, bookieId);
      expect(fast.error?.failure).toBe('connect-failed');
      expect(fast.error!.message).toMatch(/not connecting for another \d+ ms after a failed connect/);
      expect(bookie.sockets).toHaveLength(0);

      await sleep(1100);
      expect((await add(client, bookieId)).status).toBe(StatusCode.EOK);
      expect(bookie.sockets).toHaveLength(1);
      expect(heard).toHaveLength(1);
    });

    test('each failed connect doubles the backoff', async () => {
      const port = await freePort();
      const bookieId = `127.0.0.1:${port}`;
      const client = pool({ reconnectBackoffMs: 1000, reconnectBackoffMaxMs: 5000 });
      expect((await add(client, bookieId)).error!.message).toContain('cannot connect');
      await sleep(1100);
      // The backoff has passed: a real attempt, refused again; the next backoff is 2000 ms.
      expect((await add(client, bookieId)).error!.message).toContain('cannot connect');
      await sleep(1100);
      expect((await add(client, bookieId)).error!.message).toContain('not connecting for another');
      await fake(port);
      await sleep(1000);
      expect((await add(client, bookieId)).status).toBe(StatusCode.EOK);
    });

    test('a bookie id that is not host:port fails with connect-failed naming it', async () => {
      const client = pool();
      const outcome = await add(client, 'no-port-here');
      expect(outcome.error?.failure).toBe('connect-failed');
      expect(outcome.error!.message).toContain('bookie id "no-port-here" is not host:port');
    });
  });

  describe('lost connections', () => {
    test('the bookie closing the connection fails what was in flight with connection-lost, tells listeners, and the next request reconnects at once', async () => {
      const bookie = await fake();
      bookie.onRequest = (received) => {
        if (bookie.requests.length === 5) received.socket.destroy();
      };
      const client = pool({ reconnectBackoffMs: 60_000 });
      const heard: Array<[string, TransportError]> = [];
      const unsubscribe = client.onBookieFailure((id, error) => heard.push([id, error]));
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, (_, i) => add(client, bookie.bookieId, { entryId: BigInt(i) })),
      );
      expect(outcomes.map((o) => o.error?.failure)).toEqual(Array(5).fill('connection-lost'));
      expect(outcomes[3]!.error!.message).toBe(
        `add of entry 3 of ledger 1 to bookie ${bookie.bookieId}: connection lost (closed by the bookie)`,
      );
      expect(heard.map(([id, e]) => [id, e.failure])).toEqual([[bookie.bookieId, 'connection-lost']]);

      bookie.onRequest = (received) => received.answer();
      expect((await add(client, bookie.bookieId)).status).toBe(StatusCode.EOK);
      expect(bookie.sockets).toHaveLength(2);

      unsubscribe();
      bookie.sockets[1]!.destroy();
      await sleep(50);
      expect(heard).toHaveLength(1);
    });
  });

  describe('bounds and bad requests', () => {
    test('requests over maxPendingRequestsPerBookie fail fast with too-many-in-flight; others go on', async () => {
      const bookie = await fake();
      const held: Parameters<FakeBookie['onRequest']>[0][] = [];
      bookie.onRequest = (received) => held.push(received);
      const client = pool({ maxPendingRequestsPerBookie: 3 });
      const first = [0n, 1n, 2n].map((entryId) => add(client, bookie.bookieId, { entryId }));
      const refused = await add(client, bookie.bookieId, { entryId: 3n });
      expect(refused.error).toMatchObject({
        failure: 'too-many-in-flight',
        code: 'TooManyRequestsException',
      });
      expect(refused.error!.message).toContain(
        '3 requests already outstanding (maxPendingRequestsPerBookie)',
      );
      await until('three adds at the bookie', () => held.length === 3);
      for (const r of held) r.answer();
      expect((await Promise.all(first)).map((o) => o.status)).toEqual(Array(3).fill(StatusCode.EOK));
      bookie.onRequest = (received) => received.answer();
      expect((await add(client, bookie.bookieId, { entryId: 3n })).status).toBe(StatusCode.EOK);
    });

    test('an entry too large for a frame is refused at once with IncorrectParameterException, nothing sent', async () => {
      const bookie = await fake();
      const client = pool({ nettyMaxFrameSizeBytes: 4096 });
      const call = (): void =>
        client.addEntry(
          bookie.bookieId,
          { ledgerId: 9n, entryId: 1n, masterKey: MASTER_KEY, body: Buffer.alloc(5000) },
          () => {
            throw new Error('must not be called');
          },
        );
      expect(call).toThrow(BKError);
      expect(call).toThrow(`add of entry 1 of ledger 9 to bookie ${bookie.bookieId} cannot be sent`);
      await expect(
        client.writeLac(bookie.bookieId, {
          ledgerId: 9n,
          lac: 0n,
          masterKey: MASTER_KEY,
          body: Buffer.alloc(5000),
        }),
      ).rejects.toMatchObject({ code: 'IncorrectParameterException' });
      await expect(
        client.readEntry(bookie.bookieId, { ledgerId: 9n, entryId: 0n, fence: true }),
      ).rejects.toMatchObject({ code: 'IncorrectParameterException' });
      expect((await add(client, bookie.bookieId)).status).toBe(StatusCode.EOK);
      expect(bookie.requests).toHaveLength(1);
    });
  });

  describe('close', () => {
    test('close fails every outstanding and queued request with client-closed, closes the socket, and later requests fail the same way', async () => {
      const bookie = await fake();
      const other = await fake();
      bookie.onRequest = () => undefined;
      const client = pool();
      const heard: TransportError[] = [];
      client.onBookieFailure((_id, error) => heard.push(error));
      const inFlight = add(client, bookie.bookieId, { entryId: 1n });
      const read = client.readEntry(bookie.bookieId, { ledgerId: 1n, entryId: 1n });
      await until('the bookie to receive both', () => bookie.requests.length === 2);
      const queued = add(client, other.bookieId, { entryId: 2n }); // still connecting when close starts
      const closed = client.close();
      const socketClosed = new Promise((resolve) => bookie.sockets[0]!.once('close', resolve));
      await closed;
      await socketClosed;
      for (const outcome of [await inFlight, await queued]) {
        expect(outcome.error).toMatchObject({ failure: 'client-closed', code: 'ClientClosedException' });
        expect(outcome.error!.message).toContain('the client is closed');
      }
      expect(await read).toMatchObject({ ok: false, error: { failure: 'client-closed' } });
      expect((await add(client, bookie.bookieId)).error?.failure).toBe('client-closed');
      expect((await add(client, 'never-seen:1')).error?.failure).toBe('client-closed');
      expect(await client.getBookieInfo(other.bookieId)).toMatchObject({
        ok: false,
        error: { failure: 'client-closed' },
      });
      expect(heard).toEqual([]);
      await client.close();
    });
  });
});
