/**
 * Goal: Kafka committed offsets are durable in BookKeeper: a commit that resolved is read back by a store opened
 * after a close, or by another owner opening the managed ledger while the first is still running (what a restart
 * after a crash sees), snapshots let the older ledgers go without changing what is read back, and commits made
 * while a snapshot is written keep their order; a process SIGKILLed while committing loses no resolved commit.
 * Method: real bookies and etcd (harness BookieCluster, as the managed-ledger tests); DurableOffsetStore opened
 * through a ManagedLedgerFactory; what is read back compared with what was committed. The SIGKILL rounds run an
 * owner as a child process (test/fixtures/kafka-offset-store-process.js over dist/: `npm run build` first) and kill
 * it after a seeded number of resolved commits (LEDGERLINE_SEED replays a run).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { silentLogger } from '../../common';
import { DurableOffsetStore, OffsetStoreError } from '../../broker';
import type { CommittedOffset } from '../../broker';
import { eventually, seededRandom, testSeed } from '../harness';
import { ML_TEST_CONFIG, mlCluster, uniqueName } from './managed-ledger-fixture';
import type { MlCluster } from './managed-ledger-fixture';

let env!: MlCluster;
mlCluster(2, (started) => (env = started));

const logger = silentLogger();

function offset(topic: string, partition: number, value: bigint, metadata = ''): CommittedOffset {
  return { topic, partition, offset: value, metadata };
}

/** Sorted by topic then partition, so answers compare regardless of map order. */
function sorted(offsets: CommittedOffset[]): CommittedOffset[] {
  return [...offsets].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

describe('kafka > durable offset store', () => {
  it('reads back every resolved commit after close and reopen; fetch(null) gives every topic', async () => {
    const name = uniqueName('offsets');
    const store = await DurableOffsetStore.open(env.owner.factory, name, logger);
    await store.commit('g1', [offset('a', 0, 10n, 'm0'), offset('a', 1, 11n)]);
    await store.commit('g1', [offset('b', 0, 5n, 'ünï')]);
    await store.commit('g2', [offset('a', 0, 99n)]);
    await store.commit('g1', [offset('a', 0, 12n, 'm1')]); // replaces a-0
    await store.close();
    await expect(store.commit('g1', [offset('a', 0, 1n)])).rejects.toMatchObject({
      code: 'OffsetStoreClosed',
      retriable: true,
    });

    const reopened = await DurableOffsetStore.open(env.owner.factory, name, logger);
    const g1 = [offset('a', 0, 12n, 'm1'), offset('a', 1, 11n), offset('b', 0, 5n, 'ünï')];
    expect(sorted(await reopened.fetch('g1', null))).toEqual(g1);
    expect(sorted(await reopened.fetch('g1', ['b', 'nope']))).toEqual([offset('b', 0, 5n, 'ünï')]);
    expect(await reopened.fetch('g2', null)).toEqual([offset('a', 0, 99n)]);
    expect(await reopened.fetch('nobody', null)).toEqual([]);
    expect(reopened.groupIds().sort()).toEqual(['g1', 'g2']);
    await reopened.close();
  });

  it('another owner opening it (a restart after a crash) reads what was acknowledged; the old owner is fenced', async () => {
    const name = uniqueName('offsets-owner');
    const first = await DurableOffsetStore.open(env.owner.factory, name, logger);
    const committed = new Map<number, bigint>();
    for (let i = 0; i < 20; i++) {
      await first.commit('g', [offset('t', i % 4, BigInt(i))]);
      committed.set(i % 4, BigInt(i));
    }
    // Not closed: the second owner recovers the ledger the first was writing, as after a SIGKILL.
    const other = await env.newOwner();
    const second = await DurableOffsetStore.open(other.factory, name, logger);
    expect(sorted(await second.fetch('g', null))).toEqual(
      [...committed].map(([p, o]) => offset('t', p, o)).sort((a, b) => a.partition - b.partition),
    );
    await expect(first.commit('g', [offset('t', 0, 1000n)])).rejects.toBeDefined();
    await second.commit('g', [offset('t', 0, 2000n)]);
    await second.close();
    await first.close().catch(() => undefined);

    const third = await DurableOffsetStore.open(other.factory, name, logger);
    expect(await third.fetch('g', ['t'])).toContainEqual(offset('t', 0, 2000n));
    await third.close();
  });

  it('snapshots let the older ledgers go and replay the same offsets from far fewer entries', async () => {
    const name = uniqueName('offsets-snapshot');
    const options = {
      snapshotEveryRecords: 10,
      snapshotChunkBytes: 64, // a few records per chunk: every snapshot is several entries
      managedLedgerConfig: { managedLedgerMaxEntriesPerLedger: 5 },
    };
    const store = await DurableOffsetStore.open(env.owner.factory, name, logger, options);
    const expected = new Map<string, CommittedOffset>();
    for (let i = 0; i < 120; i++) {
      const committed = offset(`topic-${i % 3}`, i % 5, BigInt(i), `meta-${i}`);
      await store.commit(`group-${i % 2}`, [committed]);
      expected.set(`group-${i % 2}/${committed.topic}/${committed.partition}`, committed);
    }
    await store.snapshot();
    const ml = await env.owner.factory.open(name);
    // 120 commits and a dozen snapshots went in; the trimmed log keeps only the last snapshot's ledgers onwards.
    await eventually('older ledgers trimmed', () => (ml.getNumberOfEntries() < 40 ? true : undefined));
    await store.close();

    const other = await env.newOwner();
    const reopened = await DurableOffsetStore.open(other.factory, name, logger, options);
    for (const groupId of ['group-0', 'group-1']) {
      const want = [...expected]
        .filter(([key]) => key.startsWith(`${groupId}/`))
        .map(([, committed]) => committed);
      expect(sorted(await reopened.fetch(groupId, null))).toEqual(sorted(want));
    }
    await reopened.close();
  });

  it('keeps the order of commits made while a snapshot is being written', async () => {
    const name = uniqueName('offsets-order');
    const options = { snapshotEveryRecords: 7 };
    const store = await DurableOffsetStore.open(env.owner.factory, name, logger, options);
    const commits: Promise<void>[] = [];
    const resolvedOrder: number[] = [];
    for (let i = 0; i < 200; i++) {
      // A snapshot started now holds the commits that follow until it is written; some waves also wait a turn.
      if (i % 25 === 0) void store.snapshot();
      if (i % 40 === 0) await new Promise((resolve) => setImmediate(resolve));
      commits.push(
        store.commit('g', [offset('t', 0, BigInt(i)), offset('t', i % 3, BigInt(i))]).then(() => {
          resolvedOrder.push(i);
        }),
      );
    }
    await Promise.all(commits);
    expect(resolvedOrder).toEqual([...Array(200).keys()]);
    const last = sorted(await store.fetch('g', null));
    expect(last).toEqual([offset('t', 0, 199n), offset('t', 1, 199n), offset('t', 2, 197n)]);
    await store.close();
    const other = await env.newOwner();
    const reopened = await DurableOffsetStore.open(other.factory, name, logger, options);
    expect(sorted(await reopened.fetch('g', null))).toEqual(last);
    await reopened.close();
  });

  it('refuses to open over an entry that is not an offset record', async () => {
    const name = uniqueName('offsets-corrupt');
    const store = await DurableOffsetStore.open(env.owner.factory, name, logger);
    await store.commit('g', [offset('t', 0, 1n)]);
    await store.close();
    const ml = await env.owner.factory.open(name);
    await ml.addEntry(Buffer.from('not an offset record'));
    await ml.close();
    const opening = DurableOffsetStore.open(env.owner.factory, name, logger);
    await expect(opening).rejects.toBeInstanceOf(OffsetStoreError);
    await expect(opening).rejects.toMatchObject({ code: 'CorruptOffsetEntry' });
  });

  const seed = testSeed();
  it(`a process SIGKILLed while committing (5 rounds, snapshots on) loses no resolved commit (seed ${seed})`, async () => {
    const random = seededRandom(seed);
    const name = uniqueName('offsets-crash');
    const config = { ...ML_TEST_CONFIG, managedLedgerMaxEntriesPerLedger: 20 };
    const earlier = new Map<string, CommittedOffset[]>();
    for (let round = 0; round < 5; round++) {
      const group = `crash-${round}`;
      const resolved: number[] = [];
      let failure = '';
      const child = spawn(
        process.execPath,
        [
          join(__dirname, '..', 'fixtures', 'kafka-offset-store-process.js'),
          env.cluster.metadataServiceUri,
          name,
          group,
          JSON.stringify(config),
          String(5 + Math.floor(random() * 20)),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stderr.on('data', (chunk: Buffer) => (failure = (failure + chunk.toString()).slice(-2000)));
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        try {
          const event = JSON.parse(line) as { c?: number; error?: string };
          if (event.c !== undefined) resolved.push(event.c);
          if (event.error !== undefined) failure = event.error;
        } catch {
          // A line cut short by the kill.
        }
      });
      const ended = new Promise<void>((resolve) => lines.on('close', resolve));
      const target = 10 + Math.floor(random() * 150);
      try {
        await eventually(`round ${round}: ${target} commits resolved`, () => {
          if (failure !== '' && child.exitCode !== null) throw new Error(`the child failed: ${failure}`);
          return resolved.length >= target ? true : undefined;
        });
      } finally {
        child.kill('SIGKILL');
        await ended;
      }

      const owner = await env.newOwner(config);
      const store = await DurableOffsetStore.open(owner.factory, name, logger);
      const fetched = await store.fetch(group, null);
      for (let partition = 0; partition < 4; partition++) {
        const acknowledged = Math.max(...resolved.filter((i) => i % 4 === partition));
        const found = fetched.find((c) => c.partition === partition);
        // Never behind a resolved commit; a commit made but not yet answered may or may not be there.
        expect(found).toBeDefined();
        expect(found!.offset >= BigInt(acknowledged)).toBe(true);
        expect(Number(found!.offset) % 4).toBe(partition);
        expect(found!.metadata).toBe(`m${found!.offset}`);
      }
      for (const [earlierGroup, offsets] of earlier) {
        expect(sorted(await store.fetch(earlierGroup, null))).toEqual(offsets);
      }
      earlier.set(group, sorted(fetched));
      await store.close();
      await owner.close();
    }
  }, 120_000);
});
