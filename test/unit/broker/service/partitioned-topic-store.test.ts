/*
 * PartitionedTopicStore over the embedded (RocksDB) metadata store: Pulsar's path and JSON for partitioned-topic
 * metadata, create-once, grow-only, delete, list, and compare-and-set under concurrent admins.
 */
import { silentLogger } from '../../../../common';
import { EmbeddedMetadataStore } from '../../../../metadata';
import type { MetadataStore } from '../../../../metadata';
import { BrokerError, PartitionedTopicStore, httpStatusOf } from '../../../../broker/service';
import { TopicName } from '../../../../broker/pulsar';
import { TempDirs } from '../../../harness';

const tempDirs = new TempDirs();
let store: MetadataStore;
let partitioned: PartitionedTopicStore;

beforeEach(async () => {
  store = await EmbeddedMetadataStore.open({ dir: tempDirs.make('ledgerline-pt-'), logger: silentLogger() });
  partitioned = new PartitionedTopicStore(store, silentLogger());
});

afterEach(async () => {
  await store.close();
  tempDirs.removeAll();
});

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

const orders = TopicName.parse('persistent://acme/sales/orders café');

describe('broker > service > partitioned topic store', () => {
  it('stores {"partitions": N} at Pulsar\'s path with the encoded local name', async () => {
    await partitioned.create(orders, 3);
    const found = await store.get('/admin/partitioned-topics/acme/sales/persistent/orders+caf%C3%A9');
    expect(JSON.parse(found!.value.toString('utf8'))).toEqual({ partitions: 3 });
    expect(await partitioned.get(orders)).toEqual({ partitions: 3 });
    expect(await partitioned.get(TopicName.parse('persistent://acme/sales/other'))).toBeUndefined();
  });

  it('creates once: a second create is Conflict (409), also when two race', async () => {
    const results = await Promise.allSettled([partitioned.create(orders, 2), partitioned.create(orders, 5)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const error = await rejection(partitioned.create(orders, 4));
    expect(httpStatusOf(error)).toBe(409);
  });

  it('grows only: fewer or as many partitions is Conflict, more is stored; of two concurrent grows the larger count stays', async () => {
    await partitioned.create(orders, 2);
    expect(httpStatusOf(await rejection(partitioned.grow(orders, 2)))).toBe(409);
    expect(httpStatusOf(await rejection(partitioned.grow(orders, 1)))).toBe(409);
    expect(await partitioned.grow(orders, 4)).toBe(2);
    expect(await partitioned.get(orders)).toEqual({ partitions: 4 });
    const results = await Promise.allSettled([partitioned.grow(orders, 6), partitioned.grow(orders, 8)]);
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    expect(await partitioned.get(orders)).toEqual({ partitions: 8 });
  });

  it('keeps fields written by others when growing', async () => {
    await store.put(
      '/admin/partitioned-topics/acme/sales/persistent/orders+caf%C3%A9',
      Buffer.from(JSON.stringify({ partitions: 1, properties: { owner: 'ops' } })),
      { expectedVersion: 'absent' },
    );
    await partitioned.grow(orders, 3);
    expect(await partitioned.get(orders)).toEqual({ partitions: 3, properties: { owner: 'ops' } });
  });

  it('deletes and lists; a missing topic is TopicNotFound (404)', async () => {
    await partitioned.create(orders, 2);
    await partitioned.create(TopicName.parse('persistent://acme/sales/a'), 1);
    await partitioned.create(TopicName.parse('persistent://acme/other/b'), 1);
    expect(await partitioned.list('acme/sales')).toEqual([
      'persistent://acme/sales/a',
      'persistent://acme/sales/orders café',
    ]);
    await partitioned.delete(orders);
    expect(await partitioned.get(orders)).toBeUndefined();
    expect(await partitioned.list('acme/sales')).toEqual(['persistent://acme/sales/a']);
    expect(httpStatusOf(await rejection(partitioned.delete(orders)))).toBe(404);
    expect(httpStatusOf(await rejection(partitioned.grow(orders, 3)))).toBe(404);
  });

  it('refuses stored metadata without a partition count as a PersistenceError', async () => {
    await store.put('/admin/partitioned-topics/acme/sales/persistent/bad', Buffer.from('{"x":1}'), {
      expectedVersion: 'absent',
    });
    const error = await rejection(partitioned.get(TopicName.parse('persistent://acme/sales/bad')));
    expect(error.code).toBe('PersistenceError');
  });
});
