/**
 * Reading entries over a scripted BookieClient: which replica is asked first and next, what makes a read move
 * on, speculative reads, pipelining, and what the caller gets when no replica can serve an entry. The data a
 * caller receives is always a digest-verified payload.
 */
import { StatusCode } from '../../../protocol';
import { isBKError } from '../../../ledger-client/errors';
import { PendingReadOp } from '../../../ledger-client/read/pending-read-op';
import {
  E3_W2,
  E3_W3_A2,
  ENSEMBLE,
  FakeBookieClient,
  RecordingPlacement,
  bodyOf,
  corrupt,
  fakeView,
  metadataOf,
  ok,
  payloadOf,
  serveAll,
  status,
  transportFailure,
} from './read-fakes';
import type { Script } from './read-fakes';

function allBookies(script: Script): Record<string, Script> {
  return Object.fromEntries(ENSEMBLE.map((bookieId) => [bookieId, script]));
}

async function readError(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the read to fail');
    },
    (error: unknown) => error,
  );
}

describe('ledger-client > read > entries', () => {
  test('each entry is read from the first bookie of its write set, once, and the payloads come back in order', async () => {
    const client = new FakeBookieClient(allBookies(serveAll));
    const view = fakeView(E3_W2, client);
    const { entries, lastLength } = await PendingReadOp.read(view, 0n, 5n);
    expect(entries.map((e) => e.entryId)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    expect(entries.map((e) => e.data.toString())).toEqual(
      [0n, 1n, 2n, 3n, 4n, 5n].map((id) => payloadOf(id).toString()),
    );
    expect(entries.every((e) => e.length === e.data.length && e.ledgerId === view.ledgerId)).toBe(true);
    expect(lastLength).toBe(600n);
    expect(client.requests.map((r) => [r.request.entryId, r.bookieId])).toEqual(
      [0n, 1n, 2n, 3n, 4n, 5n].map((id) => [id, ENSEMBLE[Number(id % 3n)]]),
    );
    expect(view.placement.succeeded).toHaveLength(6);
  });

  test('the placement policy decides the order replicas are tried in', async () => {
    const client = new FakeBookieClient(allBookies(serveAll));
    const placement = new RecordingPlacement((writeSet) => writeSet.map((_, i) => writeSet.length - 1 - i));
    await PendingReadOp.read(fakeView(E3_W2, client, { placement }), 0n, 2n);
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b1:3181', 'b2:3181', 'b0:3181']);
  });

  test('with reorderReadSequenceEnabled=false the write-set order is kept', async () => {
    const client = new FakeBookieClient(allBookies(serveAll));
    const placement = new RecordingPlacement((writeSet) => writeSet.map((_, i) => writeSet.length - 1 - i));
    const view = fakeView(E3_W2, client, { placement, config: { reorderReadSequenceEnabled: false } });
    await PendingReadOp.read(view, 0n, 2n);
    expect(client.requests.map((r) => r.bookieId)).toEqual(ENSEMBLE);
  });

  test('entries are read concurrently, bounded by the in-flight limit', async () => {
    const waiting: Array<() => void> = [];
    const deferred: Script = (request) =>
      new Promise((resolve) => waiting.push(() => resolve(ok(bodyOf(request.entryId)))));
    const client = new FakeBookieClient(allBookies(deferred));
    const read = PendingReadOp.read(fakeView(E3_W2, client), 0n, 9n, 4);
    await new Promise((resolve) => setImmediate(resolve));
    // Four requests left before any answer; each answer lets one more go.
    expect(client.requests).toHaveLength(4);
    waiting.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.requests).toHaveLength(5);
    while (client.requests.length < 10 || waiting.length > 0) {
      waiting.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await read).entries.map((e) => e.entryId)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
  });

  test('NoSuchEntry, an error status or a lost connection moves the read to the next replica', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => status(StatusCode.ENOENTRY),
      'b1:3181': (request) =>
        request.entryId === 0n ? status(StatusCode.EIO) : transportFailure('b1:3181', 'connection-lost'),
      'b2:3181': serveAll,
    });
    const view = fakeView(E3_W3_A2, client);
    const { entries } = await PendingReadOp.read(view, 0n, 1n);
    expect(entries.map((e) => e.data.toString())).toEqual([
      payloadOf(0n).toString(),
      payloadOf(1n).toString(),
    ]);
    // Entry 0's write set is b0, b1, b2; entry 1's is b1, b2, b0.
    expect(client.requests.map((r) => `${r.request.entryId}@${r.bookieId}`)).toEqual([
      '0@b0:3181',
      '1@b1:3181',
      '0@b1:3181',
      '1@b2:3181',
      '0@b2:3181',
    ]);
    // Failures are reported to the placement policy (read last next time); "no such entry" is not a failure.
    expect(view.placement.failed).toEqual(['b1:3181', 'b1:3181']);
  });

  test('a corrupt replica is skipped and the entry served from the next; its bytes never reach the caller', async () => {
    const client = new FakeBookieClient({
      'b0:3181': (request) => ok(corrupt(bodyOf(request.entryId))),
      'b1:3181': serveAll,
      'b2:3181': serveAll,
    });
    const view = fakeView(E3_W3_A2, client);
    const { entries } = await PendingReadOp.read(view, 0n, 0n);
    expect(entries[0]!.data).toEqual(payloadOf(0n));
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b0:3181', 'b1:3181']);
    expect(view.placement.failed).toEqual(['b0:3181']);
  });

  test('a body of another entry is not accepted for the one asked', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => ok(bodyOf(7n)),
      'b1:3181': serveAll,
      'b2:3181': serveAll,
    });
    const { entries } = await PendingReadOp.read(fakeView(E3_W3_A2, client), 0n, 0n);
    expect(entries[0]!.entryId).toBe(0n);
    expect(entries[0]!.data).toEqual(payloadOf(0n));
  });

  test('every replica corrupt → DigestMatchException naming the ledger, the entry and the bookies', async () => {
    const client = new FakeBookieClient(allBookies((request) => ok(corrupt(bodyOf(request.entryId)))));
    const error = await readError(PendingReadOp.read(fakeView(E3_W3_A2, client), 4n, 4n));
    expect(isBKError(error, 'DigestMatchException')).toBe(true);
    expect((error as Error).message).toMatch(/ledger 42 entry 4/);
    for (const bookieId of ENSEMBLE) expect((error as Error).message).toContain(bookieId);
    expect((error as { entryId: bigint }).entryId).toBe(4n);
  });

  test('no replica has the entry → NoSuchEntryException', async () => {
    const client = new FakeBookieClient(allBookies(() => status(StatusCode.ENOENTRY)));
    const error = await readError(PendingReadOp.read(fakeView(E3_W2, client), 3n, 3n));
    expect(isBKError(error, 'NoSuchEntryException')).toBe(true);
    expect(client.requests).toHaveLength(2);
  });

  test('replicas that only time out → TimeoutException', async () => {
    const client = new FakeBookieClient(allBookies(() => transportFailure('b0:3181', 'timeout')));
    const error = await readError(PendingReadOp.read(fakeView(E3_W2, client), 0n, 0n));
    expect(isBKError(error, 'TimeoutException')).toBe(true);
  });

  test('speculative read: a replica silent for speculativeReadTimeout gets company, and the first answer wins', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => 'hang',
      'b1:3181': serveAll,
      'b2:3181': serveAll,
    });
    const view = fakeView(E3_W3_A2, client, { config: { speculativeReadTimeout: 40 } });
    const started = Date.now();
    const read = PendingReadOp.read(view, 0n, 0n);
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b0:3181']);
    const { entries } = await read;
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(entries[0]!.data).toEqual(payloadOf(0n));
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b0:3181', 'b1:3181']);
    expect(view.placement.slow).toEqual(['b0:3181']);
  });

  test('speculative reads back off: each next replica is asked after twice the previous wait, up to the max', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => 'hang',
      'b1:3181': () => 'hang',
      'b2:3181': serveAll,
    });
    const view = fakeView(E3_W3_A2, client, {
      config: { speculativeReadTimeout: 40, maxSpeculativeReadTimeout: 1000 },
    });
    const sentAt: number[] = [];
    const started = Date.now();
    const send = client.readEntry.bind(client);
    client.readEntry = (...args: Parameters<typeof send>) => {
      sentAt.push(Date.now() - started);
      return send(...args);
    };
    const { entries } = await PendingReadOp.read(view, 0n, 0n);
    expect(entries[0]!.data).toEqual(payloadOf(0n));
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b0:3181', 'b1:3181', 'b2:3181']);
    // b1 after 40 ms (sweeps every 10 ms), b2 after another 80, not another 40.
    expect(sentAt[1]).toBeGreaterThanOrEqual(35);
    expect(sentAt[2]! - sentAt[1]!).toBeGreaterThanOrEqual(75);
  });

  test('with speculativeReadTimeout=0 a silent replica is waited for (the transport times it out)', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => 'hang',
      'b1:3181': serveAll,
      'b2:3181': serveAll,
    });
    const view = fakeView(E3_W3_A2, client, { config: { speculativeReadTimeout: 0 } });
    let settled = false;
    void PendingReadOp.read(view, 0n, 0n).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b0:3181']);
  });

  test('entries after an ensemble change are read from the new segment', async () => {
    const md = metadataOf(
      [
        { firstEntryId: 0n, ensemble: ENSEMBLE },
        { firstEntryId: 3n, ensemble: ['b3:3181', 'b1:3181', 'b2:3181'] },
      ],
      { writeQuorumSize: 2, ackQuorumSize: 2 },
    );
    const client = new FakeBookieClient({ ...allBookies(serveAll), 'b3:3181': serveAll });
    await PendingReadOp.read(fakeView(md, client), 2n, 3n);
    expect(client.requests.map((r) => `${r.request.entryId}@${r.bookieId}`)).toEqual([
      '2@b2:3181',
      '3@b3:3181',
    ]);
  });
});
