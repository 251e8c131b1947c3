/**
 * Goal: FaultProxy, the in-process proxy the ledger client's S1–S6 tests drive, loses, delays, holds and
 * reorders exactly the v3 messages a rule picks, and passes everything else through untouched — as a client and
 * a real bookie on either side of it observe.
 *
 * Method: one real `ledgerline bookie` behind a proxy (BookieCluster `proxied: true`, so the bookie registers
 * under the proxy's address); the harness BookieClient talks to the proxy. What the bookie received is checked
 * by reading it back (through the proxy or straight from the bookie's own port); what the client received, by
 * whether and when its requests are answered.
 */
import { connect } from 'node:net';
import { masterKey, OperationType, StatusCode } from '../../protocol';
import type { Response } from '../../protocol';
import { BookieClient, BookieCluster, EntryPacker, eventually, requireBuiltBookie } from '../harness';
import type { FaultProxy } from '../harness';

const PASSWORD = Buffer.from('fault-proxy');
const KEY = masterKey(PASSWORD);
const packer = new EntryPacker(PASSWORD);
const ADD = OperationType.ADD_ENTRY;

function entry(ledgerId: bigint, entryId: bigint): Buffer {
  return packer.pack(ledgerId, entryId, Buffer.from(`ledger ${ledgerId} entry ${entryId}`));
}

function add(client: BookieClient, ledgerId: bigint, entryId: bigint): Promise<Response> {
  return client.addEntry({ ledgerId, entryId, masterKey: KEY, body: entry(ledgerId, entryId) });
}

/** Resolves 'none' if `promise` has not settled after `ms`, else what it settled with. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'none'> {
  let timer: NodeJS.Timeout | undefined;
  const none = new Promise<'none'>((resolve) => (timer = setTimeout(() => resolve('none'), ms)));
  try {
    return await Promise.race([promise, none]);
  } finally {
    clearTimeout(timer);
  }
}

describe('harness > fault proxy', () => {
  let cluster: BookieCluster;
  let proxy: FaultProxy;
  let client: BookieClient;
  /** Straight to the bookie's own port, past the proxy. */
  let direct: BookieClient;
  let nextLedgerId = 100n;

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 1, proxied: true });
    proxy = cluster.proxy(0);
    direct = await BookieClient.connect(cluster.bookie(0).port);
  });

  beforeEach(async () => {
    proxy.clearRules();
    proxy.unblock();
    client = await BookieClient.connect(proxy.port);
  });

  afterEach(async () => {
    await client.close();
  });

  afterAll(async () => {
    await direct?.close();
    await cluster?.close();
  });

  const freshLedger = (): bigint => nextLedgerId++;

  test('the bookie registers under the proxy address; messages pass through as they were, and are logged', async () => {
    expect(cluster.bookieIds).toEqual([proxy.address]);
    expect(cluster.bookie(0).port).not.toBe(proxy.port);
    expect(await cluster.metadata.registrations.getWritableBookies()).toEqual([proxy.address]);

    const ledgerId = freshLedger();
    expect((await add(client, ledgerId, 0n)).status).toBe(StatusCode.EOK);
    const read = await client.readEntry(ledgerId, 0n);
    expect(read.status).toBe(StatusCode.EOK);
    expect(read.readResponse?.body).toEqual(entry(ledgerId, 0n));

    const logged = proxy.seen({ ledgerId });
    expect(logged.map((m) => [m.direction, m.operation, m.entryId, m.status, m.fate, m.action])).toEqual([
      ['request', ADD, 0n, undefined, 'passed', 'pass'],
      ['response', ADD, 0n, StatusCode.EOK, 'passed', 'pass'],
      ['request', OperationType.READ_ENTRY, 0n, undefined, 'passed', 'pass'],
      ['response', OperationType.READ_ENTRY, 0n, StatusCode.EOK, 'passed', 'pass'],
    ]);
    expect(logged[0]!.txnId).toBe(logged[1]!.txnId);
  });

  test('drop the first add to a ledger: no answer, the bookie never saw it; the second try passes', async () => {
    const ledgerId = freshLedger();
    const rule = proxy.rule({ direction: 'request', operation: ADD, ledgerId }, 'drop', 1);
    const first = add(client, ledgerId, 0n);
    first.catch(() => undefined);
    expect(await within(first, 500)).toBe('none');
    expect(rule.hits).toBe(1);
    expect((await direct.readEntry(ledgerId, 0n)).status).toBe(StatusCode.ENOLEDGER);

    expect((await add(client, ledgerId, 0n)).status).toBe(StatusCode.EOK);
    expect(rule.hits).toBe(1);
    expect(proxy.seen({ ledgerId, direction: 'request' }).map((m) => m.fate)).toEqual(['dropped', 'passed']);
  });

  test('drop a response: the bookie has the entry, the client never hears so', async () => {
    const ledgerId = freshLedger();
    proxy.rule({ direction: 'response', operation: ADD, ledgerId, entryId: 0n }, 'drop');
    const pending = add(client, ledgerId, 0n);
    pending.catch(() => undefined);
    expect(await within(pending, 500)).toBe('none');
    expect((await direct.readEntry(ledgerId, 0n)).readResponse?.body).toEqual(entry(ledgerId, 0n));
  });

  test('hold a response and release it: the add is answered only then', async () => {
    const ledgerId = freshLedger();
    proxy.rule({ direction: 'response', ledgerId }, 'hold', 1);
    const pending = add(client, ledgerId, 0n);
    await eventually('the response to be held', () => (proxy.held.length === 1 ? true : undefined));
    expect(proxy.held[0]).toMatchObject({
      direction: 'response',
      ledgerId,
      entryId: 0n,
      status: StatusCode.EOK,
    });
    expect(await within(pending, 200)).toBe('none');

    expect(proxy.release({ ledgerId: ledgerId + 1000n })).toBe(0);
    expect(proxy.release()).toBe(1);
    expect((await pending).status).toBe(StatusCode.EOK);
    expect(proxy.held).toEqual([]);
  });

  test('hold a request: the ones behind it overtake it, so the bookie gets them out of order', async () => {
    const ledgerId = freshLedger();
    proxy.rule({ direction: 'request', operation: ADD, ledgerId, entryId: 0n }, 'hold');
    const e0 = add(client, ledgerId, 0n);
    const e1 = add(client, ledgerId, 1n);
    expect((await e1).status).toBe(StatusCode.EOK);
    expect((await direct.readEntry(ledgerId, 0n)).status).toBe(StatusCode.ENOENTRY);
    expect(proxy.release()).toBe(1);
    expect((await e0).status).toBe(StatusCode.EOK);
    const arrived = proxy.seen({ ledgerId, direction: 'request', fate: 'passed' }).map((m) => m.entryId);
    expect(arrived).toEqual([1n, 0n]);
  });

  test('delay: responses of one ledger come late, another ledger is unaffected', async () => {
    const slow = freshLedger();
    const fast = freshLedger();
    proxy.rule({ direction: 'response', ledgerId: slow }, { delayMs: 300 });
    const started = performance.now();
    const slowAdd = add(client, slow, 0n).then(() => performance.now() - started);
    const fastAdd = add(client, fast, 0n).then(() => performance.now() - started);
    const [slowMs, fastMs] = await Promise.all([slowAdd, fastAdd]);
    expect(slowMs).toBeGreaterThanOrEqual(300);
    expect(fastMs).toBeLessThan(slowMs);
    expect(proxy.seen({ ledgerId: slow, direction: 'response' })[0]!.action).toBe('delay');
  });

  test('block: nothing moves either way until unblock, then everything, in order', async () => {
    const ledgerId = freshLedger();
    proxy.block();
    const adds = [0n, 1n, 2n].map((entryId) => add(client, ledgerId, entryId));
    expect(await within(Promise.race(adds), 300)).toBe('none');
    expect((await direct.readEntry(ledgerId, 0n)).status).toBe(StatusCode.ENOLEDGER);
    proxy.unblock();
    expect((await Promise.all(adds)).map((r) => r.status)).toEqual([
      StatusCode.EOK,
      StatusCode.EOK,
      StatusCode.EOK,
    ]);
    expect(proxy.seen({ ledgerId, direction: 'request' }).map((m) => m.entryId)).toEqual([0n, 1n, 2n]);
  });

  test('disconnect: the client loses its connection and its pending requests; a new one works', async () => {
    const ledgerId = freshLedger();
    proxy.rule({ direction: 'response', ledgerId }, 'hold');
    const pending = add(client, ledgerId, 0n);
    await eventually('the response to be held', () => (proxy.held.length === 1 ? true : undefined));
    proxy.disconnect();
    await expect(pending).rejects.toThrow();
    await client.closed;
    expect(proxy.held).toEqual([]);
    expect(proxy.seen({ ledgerId, direction: 'response' }).map((m) => m.fate)).toEqual(['dropped']);

    proxy.clearRules();
    client = await BookieClient.connect(proxy.port);
    expect((await client.readEntry(ledgerId, 0n)).status).toBe(StatusCode.EOK);
  });

  test('garbage from a client closes that connection only; the proxy keeps serving', async () => {
    const socket = connect({ port: proxy.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await new Promise((resolve) => socket.once('close', resolve));
    expect((await add(client, freshLedger(), 0n)).status).toBe(StatusCode.EOK);
  });

  test('a killed bookie behind the proxy: clients lose the connection; after a restart they reach it again', async () => {
    const ledgerId = freshLedger();
    expect((await add(client, ledgerId, 0n)).status).toBe(StatusCode.EOK);
    await direct.close();
    await cluster.kill(0);
    await client.closed;
    const refused = await BookieClient.connect(proxy.port);
    await refused.closed;
    expect(refused.open).toBe(false);

    await cluster.restart(0);
    direct = await BookieClient.connect(cluster.bookie(0).port);
    client = await BookieClient.connect(proxy.port);
    expect((await client.readEntry(ledgerId, 0n)).readResponse?.body).toEqual(entry(ledgerId, 0n));
  });
});
