/**
 * Learning where a ledger ends from its bookies: READ entryId=-1 to the last ensemble with the quorum-coverage
 * rule (readLastAddConfirmed and recovery's fencing), the first answer (tryReadLastAddConfirmed), and the long
 * poll a tailing reader waits on. Bookies are scripted fakes.
 */
import { StatusCode } from '../../../protocol';
import { isBKError } from '../../../ledger-client/errors';
import { longPollLastConfirmed, pollOrder } from '../../../ledger-client/read/long-poll-op';
import { readLastConfirmed } from '../../../ledger-client/read/read-lac-op';
import {
  E3_W3_A2,
  ENSEMBLE,
  FakeBookieClient,
  KEY,
  bodyOf,
  corrupt,
  fakeView,
  metadataOf,
  ok,
  payloadOf,
  status,
  transportFailure,
} from './read-fakes';

describe('ledger-client > read > last add confirmed', () => {
  test('waits for quorum coverage, then takes the highest verified piggybacked LAC; later answers are ignored', async () => {
    let answerLate!: () => void;
    const client = new FakeBookieClient({
      'b0:3181': () => ok(bodyOf(10n, 9n)),
      'b1:3181': () => ok(bodyOf(8n, 7n)),
      'b2:3181': () => new Promise((resolve) => (answerLate = () => resolve(ok(bodyOf(30n, 29n))))),
    });
    const result = await readLastConfirmed(fakeView(E3_W3_A2, client), { mode: 'coverage' });
    expect(result.lastAddConfirmed).toBe(9n);
    expect(result.entries.map((e) => e.entryId).sort()).toEqual([10n, 8n].sort());
    answerLate();
    expect(client.requests.every((r) => r.request.entryId === -1n && !r.request.fence)).toBe(true);
  });

  test('one answer is not coverage with Qa=2 of 3: it keeps waiting', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => ok(bodyOf(10n, 9n)),
      'b1:3181': () => 'hang',
      'b2:3181': () => 'hang',
    });
    let settled = false;
    void readLastConfirmed(fakeView(E3_W3_A2, client), { mode: 'coverage' }).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(settled).toBe(false);
  });

  test('NoSuchEntry/NoSuchLedger answers count; the LAC is floored at the last segment’s first entry − 1', async () => {
    const md = metadataOf(
      [
        { firstEntryId: 0n, ensemble: ['a:1', 'b:1', 'c:1'] },
        { firstEntryId: 50n, ensemble: ENSEMBLE },
      ],
      { writeQuorumSize: 3, ackQuorumSize: 2 },
    );
    const client = new FakeBookieClient({
      'b0:3181': () => status(StatusCode.ENOENTRY),
      'b1:3181': () => status(StatusCode.ENOLEDGER),
      'b2:3181': () => 'hang',
    });
    const result = await readLastConfirmed(fakeView(md, client), { mode: 'coverage' });
    expect(result.lastAddConfirmed).toBe(49n);
    expect(client.requests.map((r) => r.bookieId)).toEqual(ENSEMBLE);
  });

  test('a last entry that fails verification leaves its bookie unknown and its LAC unused', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => ok(corrupt(bodyOf(100n, 99n))),
      'b1:3181': () => ok(bodyOf(6n, 5n)),
      'b2:3181': () => status(StatusCode.ENOENTRY),
    });
    const result = await readLastConfirmed(fakeView(E3_W3_A2, client), { mode: 'coverage' });
    expect(result.lastAddConfirmed).toBe(5n);
  });

  test('fencing reads carry FENCE_LEDGER, the master key and high priority; without coverage → LedgerRecoveryException', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => ok(bodyOf(3n, 2n)),
      'b1:3181': () => transportFailure('b1:3181', 'timeout'),
      'b2:3181': () => status(StatusCode.EIO),
    });
    const error = await readLastConfirmed(fakeView(E3_W3_A2, client), {
      mode: 'coverage',
      fenceMasterKey: KEY,
    }).catch((e: unknown) => e);
    expect(isBKError(error, 'LedgerRecoveryException')).toBe(true);
    expect((error as Error).message).toContain('b1:3181 timeout');
    expect((error as Error).message).toContain('b2:3181 EIO');
    for (const { request } of client.requests) {
      expect(request).toMatchObject({ entryId: -1n, fence: true, masterKey: KEY, highPriority: true });
    }
  });

  test('a plain LAC read without coverage → ReadException', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => transportFailure('b0:3181', 'connect-failed'),
      'b1:3181': () => transportFailure('b1:3181', 'connect-failed'),
      'b2:3181': () => ok(bodyOf(3n, 2n)),
    });
    const error = await readLastConfirmed(fakeView(E3_W3_A2, client), { mode: 'coverage' }).catch(
      (e: unknown) => e,
    );
    expect(isBKError(error, 'ReadException')).toBe(true);
  });

  test('try mode: the first verified answer is enough', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => 'hang',
      'b1:3181': () => ok(bodyOf(4n, 3n)),
      'b2:3181': () => 'hang',
    });
    const result = await readLastConfirmed(fakeView(E3_W3_A2, client), { mode: 'first' });
    expect(result.lastAddConfirmed).toBe(3n);
  });
});

describe('ledger-client > read > long poll', () => {
  test('polls first the bookies that store the entry and will see the next one (which confirms it)', () => {
    // E=3, Qw=2: entry 100 is on 1, 2; entry 101 (carrying LAC 100) on 2, 0.
    expect(pollOrder(100n, 3, 2)).toEqual([2, 0, 1]);
    // Qw=1: no bookie has both; the next entry's bookie learns the LAC first.
    expect(pollOrder(0n, 3, 1)).toEqual([1, 0, 2]);
    expect(pollOrder(0n, 5, 3)).toEqual([1, 2, 3, 0, 4]);
    expect(pollOrder(4n, 5, 5)).toEqual([4, 0, 1, 2, 3]);
  });

  test('asks the first bookie of the entry’s write set to wait for LAC ≥ entryId and piggyback the entry', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => 'hang',
      'b1:3181': () => 'hang',
      'b2:3181': () => ok(bodyOf(5n, 4n), { maxLAC: 5n, entryId: 5n }),
    });
    const result = await longPollLastConfirmed(fakeView(E3_W3_A2, client), 5n, 1000, false);
    expect(result.lastAddConfirmed).toBe(5n);
    expect(result.entry?.data).toEqual(payloadOf(5n));
    expect(client.requests).toHaveLength(1);
    expect(client.requests[0]).toMatchObject({
      bookieId: 'b2:3181',
      request: { entryId: -1n, previousLAC: 4n, longPollTimeoutMs: 1000, piggyback: true },
    });
  });

  test('a silent bookie gets a speculative long poll to the next after firstSpeculativeReadLACTimeout', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => 'hang',
      'b1:3181': () => ok(undefined, { maxLAC: 3n }),
      'b2:3181': () => 'hang',
    });
    const view = fakeView(E3_W3_A2, client, { config: { firstSpeculativeReadLACTimeout: 20 } });
    const result = await longPollLastConfirmed(view, 3n, 1000, false);
    expect(result).toEqual({ lastAddConfirmed: 3n, entry: undefined });
    expect(client.requests.map((r) => r.bookieId)).toEqual(['b0:3181', 'b1:3181']);
    expect(view.placement.slow).toEqual(['b0:3181']);
  });

  test('parallel asks every bookie at once; a corrupt piggybacked entry is not returned', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => ok(corrupt(bodyOf(1n, 0n)), { maxLAC: 1n }),
      'b1:3181': () => ok(bodyOf(1n, 0n), { maxLAC: 1n }),
      'b2:3181': () => 'hang',
    });
    const result = await longPollLastConfirmed(fakeView(E3_W3_A2, client), 1n, 1000, true);
    expect(client.requests).toHaveLength(3);
    expect(result.entry?.data).toEqual(payloadOf(1n));
  });

  test('bookies that do not know the ledger yet: no news, not an error', async () => {
    const client = new FakeBookieClient({
      'b0:3181': () => status(StatusCode.ENOLEDGER),
      'b1:3181': () => status(StatusCode.ENOLEDGER),
      'b2:3181': () => status(StatusCode.ENOLEDGER),
    });
    const result = await longPollLastConfirmed(fakeView(E3_W3_A2, client), 0n, 1000, false);
    expect(result).toEqual({ lastAddConfirmed: undefined, entry: undefined });
  });
});
