/**
 * Goal: producer deduplication behaves as Pulsar's MessageDeduplication, as a producer would observe it through
 * the topic — a resend of a persisted message is a duplicate, a resend of one still being written is "unknown",
 * and both stay true after the topic is reopened (cleanly, or by a new owner after the old one vanished).
 * Method: a real managed ledger over one in-process BookieService (real TCP, real journal) and the embedded
 * RocksDB metadata store; entries in Pulsar's format (encodeMessage + broker entry metadata), written by the test
 * the way the topic writes them: check(), addEntry, recordPersisted().
 */
import { join } from 'node:path';
import { silentLogger } from '../../../../common';
import { BookieService, bookieConfigSchema } from '../../../../bookie';
import { BookKeeper } from '../../../../ledger-client';
import { ManagedLedgerFactory } from '../../../../managed-ledger';
import type { ManagedLedger, ManagedLedgerConfig, Position } from '../../../../managed-ledger';
import { createMetadataStore, initNewCluster } from '../../../../metadata';
import type { MetadataStore } from '../../../../metadata';
import { encodeMessage, withBrokerEntryMetadata } from '../../../../broker/pulsar';
import { DEDUPLICATION_CURSOR, MessageDeduplication } from '../../../../broker/service/message-deduplication';
import type { MessageDeduplicationOptions } from '../../../../broker/service/message-deduplication';
import { TempDirs, freePort } from '../../../harness';

jest.setTimeout(30_000);

const ML_CONFIG: Partial<ManagedLedgerConfig> = {
  managedLedgerDefaultEnsembleSize: 1,
  managedLedgerDefaultWriteQuorum: 1,
  managedLedgerDefaultAckQuorum: 1,
  managedLedgerMaxEntriesPerLedger: 5,
  managedLedgerMinLedgerRolloverTimeMinutes: 0,
  defaultRetentionTimeInMinutes: -1,
  defaultRetentionSizeInMB: -1,
};

/** A "broker": its own BookKeeper client and managed-ledger factory over the shared store and bookie. */
interface Owner {
  factory: ManagedLedgerFactory;
  close(): Promise<void>;
}

const dirs = new TempDirs();
let store!: MetadataStore;
let metadataServiceUri!: string;
let bookie!: BookieService;
const owners: Owner[] = [];

async function newOwner(): Promise<Owner> {
  const bookKeeper = await BookKeeper.create({ metadataServiceUri, store, logger: silentLogger() });
  const factory = new ManagedLedgerFactory({ bookKeeper, store, logger: silentLogger(), config: ML_CONFIG });
  const owner = {
    factory,
    close: async () => {
      await factory.close();
      await bookKeeper.close();
    },
  };
  owners.push(owner);
  return owner;
}

beforeAll(async () => {
  const dir = dirs.make('ledgerline-dedup-');
  metadataServiceUri = `embedded:${join(dir, 'metadata')}`;
  const metadata = await createMetadataStore(metadataServiceUri, { logger: silentLogger() });
  store = metadata.store;
  await initNewCluster(store, metadata.scope, { logger: silentLogger() });
  const config = bookieConfigSchema.parse({
    bookiePort: String(await freePort()),
    listeningInterface: '127.0.0.1',
    journalDirectories: join(dir, 'bookie', 'journal'),
    ledgerDirectories: join(dir, 'bookie', 'ledgers'),
    metadataServiceUri,
    httpServerEnabled: 'false',
    journalPreAllocSizeMB: '4',
  });
  bookie = await BookieService.start({ config, logger: silentLogger(), metadata });
});

afterAll(async () => {
  for (const owner of owners) await owner.close().catch(() => undefined);
  await bookie?.stop();
  await store?.close();
  dirs.removeAll();
});

let topicSeq = 0;
const topicName = (): string => `public/default/persistent/dedup-${++topicSeq}`;

const OPTIONS: MessageDeduplicationOptions = {
  enabled: true,
  entriesInterval: 3,
  snapshotIntervalSeconds: 0,
};

/** A new owner's managed ledger for a new topic, with its deduplication state recovered. */
async function openTopic(
  options: MessageDeduplicationOptions = OPTIONS,
): Promise<{ ml: ManagedLedger; dedup: MessageDeduplication }> {
  const owner = await newOwner();
  const ml = await owner.factory.open(topicName());
  return { ml, dedup: await MessageDeduplication.recover(ml, silentLogger(), options) };
}

/** A topic's write path as PersistentTopic drives it: check, then (for a new message) add and record. */
async function send(
  ml: ManagedLedger,
  dedup: MessageDeduplication,
  producerName: string,
  sequenceId: bigint,
): Promise<'written' | 'duplicate' | 'unknown'> {
  const status = dedup.check(producerName, sequenceId);
  if (status !== 'new') return status;
  const position = await ml.addEntry(entry(producerName, sequenceId));
  dedup.recordPersisted(producerName, sequenceId, position);
  return 'written';
}

let index = 0n;
function entry(producerName: string, sequenceId: bigint, highestSequenceId?: bigint): Buffer {
  const message = encodeMessage(
    {
      producerName,
      sequenceId,
      publishTime: Date.now(),
      properties: new Map(),
      ...(highestSequenceId !== undefined && { highestSequenceId }),
    },
    Buffer.from(`${producerName}-${sequenceId}`),
  );
  return withBrokerEntryMetadata(message, { brokerTimestamp: Date.now(), index: index++ });
}

async function sendAll(ml: ManagedLedger, dedup: MessageDeduplication, producer: string, ids: number[]) {
  const outcomes: string[] = [];
  for (const id of ids) outcomes.push(await send(ml, dedup, producer, BigInt(id)));
  return outcomes;
}

function dedupCursor(ml: ManagedLedger) {
  return ml.getCursors().find((c) => c.name === DEDUPLICATION_CURSOR);
}

describe('broker > service > message-deduplication', () => {
  it('answers a resend of a persisted message as a duplicate, and writes it once', async () => {
    const { ml, dedup } = await openTopic();
    expect(dedup.isEnabled()).toBe(true);
    expect(dedup.getLastPublishedSequenceId('p')).toBe(-1n);

    expect(await sendAll(ml, dedup, 'p', [0, 1, 2, 1, 0, 3, 2])).toEqual([
      'written',
      'written',
      'written',
      'duplicate',
      'duplicate',
      'written',
      'duplicate',
    ]);
    // Producers are tracked apart: another name may use the same sequence ids.
    expect(await sendAll(ml, dedup, 'q', [0, 1])).toEqual(['written', 'written']);
    expect(ml.getNumberOfEntries()).toBe(6);
    expect(dedup.getLastPublishedSequenceId('p')).toBe(3n);
    expect(dedup.getLastPersistedSequenceId('q')).toBe(1n);
    await dedup.close();
  });

  it('answers a resend of a message still being written as unknown, and forgets it after a failed write', async () => {
    const { ml, dedup } = await openTopic();
    expect(dedup.check('p', 0n)).toBe('new');
    // The add of 0 is in flight: a resend cannot be answered yet.
    expect(dedup.check('p', 0n)).toBe('unknown');
    const position = await ml.addEntry(entry('p', 0n));
    dedup.recordPersisted('p', 0n, position);
    expect(dedup.check('p', 0n)).toBe('duplicate');

    // 1 pushed, its write fails: the topic resets what was pushed, so the client's retry is written.
    expect(dedup.check('p', 1n)).toBe('new');
    expect(dedup.check('p', 1n)).toBe('unknown');
    dedup.resetHighestSequenceIdPushed();
    expect(dedup.check('p', 1n)).toBe('new');
    expect(dedup.check('p', 0n)).toBe('duplicate');
    await dedup.close();
  });

  it("treats a batch by its lowest and highest sequence ids (Pulsar's highest_sequence_id)", async () => {
    const { ml, dedup } = await openTopic();
    expect(dedup.check('p', 10n, 14n)).toBe('new');
    const position = await ml.addEntry(entry('p', 10n, 14n));
    dedup.recordPersisted('p', 14n, position);
    expect(dedup.check('p', 12n)).toBe('duplicate');
    expect(dedup.check('p', 15n)).toBe('new');
    await dedup.close();
  });

  it('snapshots the persisted map on the pulsar.dedup cursor every entriesInterval entries', async () => {
    const { ml, dedup } = await openTopic();
    const positions: Position[] = [];
    for (const [producer, id] of [
      ['a', 0n],
      ['b', 7n],
      ['a', 1n],
      ['b', 8n],
    ] as const) {
      expect(dedup.check(producer, id)).toBe('new');
      const position = await ml.addEntry(entry(producer, id));
      positions.push(position);
      dedup.recordPersisted(producer, id, position);
    }
    const cursor = dedupCursor(ml);
    expect(cursor).toBeDefined();
    // The third entry completed the first snapshot; the fourth is not in one yet.
    expect(cursor?.getMarkDeletedPosition().equals(positions[2] as Position)).toBe(true);
    expect(cursor?.getProperties()).toEqual(
      new Map([
        ['a', 1n],
        ['b', 7n],
      ]),
    );
    await dedup.close();
    // close() snapshots the rest.
    expect(cursor?.getMarkDeletedPosition().equals(positions[3] as Position)).toBe(true);
    expect(cursor?.getProperties().get('b')).toBe(8n);
  });

  it('still detects duplicates after the topic is closed and reopened', async () => {
    const name = topicName();
    const first = await newOwner();
    let ml = await first.factory.open(name);
    let dedup = await MessageDeduplication.recover(ml, silentLogger(), OPTIONS);
    expect(await sendAll(ml, dedup, 'p', [0, 1, 2, 3, 4])).toEqual(Array(5).fill('written'));
    await dedup.close();
    await ml.close();

    ml = await first.factory.open(name);
    dedup = await MessageDeduplication.recover(ml, silentLogger(), OPTIONS);
    expect(dedup.getLastPublishedSequenceId('p')).toBe(4n);
    expect(await sendAll(ml, dedup, 'p', [3, 4, 5, 0])).toEqual([
      'duplicate',
      'duplicate',
      'written',
      'duplicate',
    ]);
    expect(ml.getNumberOfEntries()).toBe(6);
    await dedup.close();
  });

  it('recovers the state from the snapshot plus the entries after it when the owner vanished without closing', async () => {
    const name = topicName();
    const crashed = await newOwner();
    const ml = await crashed.factory.open(name);
    const dedup = await MessageDeduplication.recover(ml, silentLogger(), { ...OPTIONS, entriesInterval: 4 });
    // 'p' 0..9 and 'q' 0..2: snapshots at entries 4, 8 and 12; the last entry is only in the log.
    expect(await sendAll(ml, dedup, 'p', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual(Array(10).fill('written'));
    expect(await sendAll(ml, dedup, 'q', [0, 1, 2])).toEqual(Array(3).fill('written'));
    // No close: a second broker takes the topic over (fencing the first), as after a crash.
    const next = await newOwner();
    const taken = await next.factory.open(name);
    const recovered = await MessageDeduplication.recover(taken, silentLogger(), OPTIONS);
    expect(recovered.getLastPublishedSequenceId('p')).toBe(9n);
    expect(recovered.getLastPublishedSequenceId('q')).toBe(2n);
    expect(await sendAll(taken, recovered, 'q', [2, 1, 3])).toEqual(['duplicate', 'duplicate', 'written']);
    expect(await sendAll(taken, recovered, 'p', [9, 10])).toEqual(['duplicate', 'written']);
    // The recovery snapshotted what it replayed: the cursor stands at the end of what was there.
    expect(dedupCursor(taken)?.getProperties().get('q')).toBe(2n);
    await recovered.close();
  });

  it('loads the snapshot from the cursor: producers whose entries are all before it are still known', async () => {
    const name = topicName();
    const owner = await newOwner();
    const ml = await owner.factory.open(name);
    const position = await ml.addEntry(entry('p', 0n));
    // A snapshot as Pulsar stores it: the mark-delete's properties, producer name -> highest persisted sequence id.
    const cursor = await ml.openCursor(DEDUPLICATION_CURSOR);
    await cursor.markDelete(position, new Map([['old-producer', 41n]]));
    const dedup = await MessageDeduplication.recover(ml, silentLogger(), OPTIONS);
    expect(dedup.getLastPublishedSequenceId('old-producer')).toBe(41n);
    expect(dedup.check('old-producer', 41n)).toBe('duplicate');
    expect(dedup.check('old-producer', 42n)).toBe('new');
    // The entry at the snapshot position is not replayed: 'p' 0 is unknown to this state.
    expect(dedup.getLastPublishedSequenceId('p')).toBe(-1n);
    await dedup.close();
  });

  it('skips entries that are not in Pulsar format when replaying', async () => {
    const name = topicName();
    const owner = await newOwner();
    let ml = await owner.factory.open(name);
    let dedup = await MessageDeduplication.recover(ml, silentLogger(), { ...OPTIONS, entriesInterval: 100 });
    expect(await sendAll(ml, dedup, 'p', [0])).toEqual(['written']);
    await ml.addEntry(Buffer.from('not a pulsar entry'));
    expect(await sendAll(ml, dedup, 'p', [1])).toEqual(['written']);
    await ml.close();
    ml = await owner.factory.open(name);
    dedup = await MessageDeduplication.recover(ml, silentLogger(), OPTIONS);
    expect(dedup.getLastPublishedSequenceId('p')).toBe(1n);
    await dedup.close();
  });

  it('does nothing when disabled, and deletes the cursor when turned off', async () => {
    const name = topicName();
    const owner = await newOwner();
    const ml = await owner.factory.open(name);
    const off = await MessageDeduplication.recover(ml, silentLogger(), { ...OPTIONS, enabled: false });
    expect(off.isEnabled()).toBe(false);
    expect(await sendAll(ml, off, 'p', [0, 0])).toEqual(['written', 'written']);
    expect(dedupCursor(ml)).toBeUndefined();

    await off.setEnabled(true);
    // Enabled on a topic with data: it starts from what comes next (as Pulsar: the cursor is created at the end).
    expect(await sendAll(ml, off, 'p', [0, 0])).toEqual(['written', 'duplicate']);
    expect(dedupCursor(ml)).toBeDefined();
    await off.setEnabled(false);
    expect(dedupCursor(ml)).toBeUndefined();
    expect(off.getLastPublishedSequenceId('p')).toBe(-1n);
    expect(await sendAll(ml, off, 'p', [0])).toEqual(['written']);

    // A cursor left by an enabled run is deleted when the topic is loaded with deduplication off.
    await off.setEnabled(true);
    await off.close();
    await ml.close();
    const reopened = await owner.factory.open(name);
    expect(dedupCursor(reopened)).toBeDefined();
    await MessageDeduplication.recover(reopened, silentLogger(), { ...OPTIONS, enabled: false });
    expect(dedupCursor(reopened)).toBeUndefined();
  });

  it('knows every message persisted while it was being turned on, whichever way the two interleave', async () => {
    const { ml, dedup } = await openTopic({ ...OPTIONS, enabled: false, entriesInterval: 2 });
    expect(await sendAll(ml, dedup, 'p', [0, 1, 2])).toEqual(Array(3).fill('written'));
    await dedup.setEnabled(true);
    await dedup.setEnabled(false);
    // Writes of 3..22 run while the state is recovered from the entries already there.
    const [outcomes] = await Promise.all([
      sendAll(
        ml,
        dedup,
        'p',
        Array.from({ length: 20 }, (_, i) => 3 + i),
      ),
      dedup.setEnabled(true),
    ]);
    expect(outcomes).toEqual(Array(20).fill('written'));
    expect(await sendAll(ml, dedup, 'p', [22, 21, 3, 23])).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'written',
    ]);
    await dedup.close();
  });

  it('forgets producers inactive past the timeout and caps the snapshot at maxNumberOfProducers', async () => {
    const { ml, dedup } = await openTopic({
      ...OPTIONS,
      entriesInterval: 100,
      maxNumberOfProducers: 2,
      producerInactivityTimeoutMinutes: 1,
    });
    for (const producer of ['a', 'b', 'c'])
      expect(await sendAll(ml, dedup, producer, [0])).toEqual(['written']);
    await dedup.takeSnapshot();
    expect(dedupCursor(ml)?.getProperties().size).toBe(2);

    dedup.producerRemoved('a', 1_000);
    dedup.producerRemoved('b', 1_000);
    dedup.producerAdded('b');
    dedup.purgeInactiveProducers(1_000 + 59_000);
    expect(dedup.getLastPublishedSequenceId('a')).toBe(0n);
    dedup.purgeInactiveProducers(1_000 + 60_000);
    expect(dedup.getLastPublishedSequenceId('a')).toBe(-1n);
    expect(dedup.getLastPublishedSequenceId('b')).toBe(0n);
    expect(await sendAll(ml, dedup, 'a', [0])).toEqual(['written']);
    await dedup.close();
  });

  it('counts producers recovered from the log as inactive until they connect, so gone ones are purged', async () => {
    const name = topicName();
    const owner = await newOwner();
    let ml = await owner.factory.open(name);
    let dedup = await MessageDeduplication.recover(ml, silentLogger(), OPTIONS);
    for (const producer of ['gone', 'back'])
      expect(await sendAll(ml, dedup, producer, [0])).toEqual(['written']);
    await dedup.close();
    await ml.close();
    ml = await owner.factory.open(name);
    dedup = await MessageDeduplication.recover(ml, silentLogger(), {
      ...OPTIONS,
      producerInactivityTimeoutMinutes: 1,
    });
    dedup.producerAdded('back');
    dedup.purgeInactiveProducers(Date.now() + 61_000);
    expect(dedup.getLastPublishedSequenceId('gone')).toBe(-1n);
    expect(dedup.getLastPublishedSequenceId('back')).toBe(0n);
    await dedup.close();
  });
});
