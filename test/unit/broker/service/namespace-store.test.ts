/*
 * NamespaceStore over the embedded (RocksDB) metadata store: tenants and namespaces at Pulsar's paths in Pulsar's
 * JSON, the errors an admin sees (404/409/400 codes), and compare-and-set updates that keep concurrent changes.
 */
import { silentLogger } from '../../../../common';
import { EmbeddedMetadataStore } from '../../../../metadata';
import type { MetadataStore } from '../../../../metadata';
import { BrokerError, NamespaceStore, httpStatusOf } from '../../../../broker/service';
import { TempDirs } from '../../../harness';

const tempDirs = new TempDirs();
let store: MetadataStore;
let namespaces: NamespaceStore;

beforeEach(async () => {
  store = await EmbeddedMetadataStore.open({ dir: tempDirs.make('ledgerline-ns-'), logger: silentLogger() });
  namespaces = new NamespaceStore(store, silentLogger());
});

afterEach(async () => {
  await store.close();
  tempDirs.removeAll();
});

/** What the call rejected with; fails the test unless it is a BrokerError. */
async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  await expect(promise).rejects.toBeInstanceOf(BrokerError);
  return (await promise.catch((e: unknown) => e)) as BrokerError;
}

async function json(key: string): Promise<unknown> {
  const found = await store.get(key);
  return found === undefined ? undefined : JSON.parse(found.value.toString('utf8'));
}

describe('broker > service > namespace store > tenants', () => {
  it('creates, reads, lists, updates and deletes tenants as Pulsar stores them', async () => {
    await namespaces.createTenant('acme', { adminRoles: ['ops'], allowedClusters: ['standalone'] });
    await namespaces.createTenant('beta', { adminRoles: [], allowedClusters: ['standalone'] });
    expect(await json('/admin/policies/acme')).toEqual({
      adminRoles: ['ops'],
      allowedClusters: ['standalone'],
    });
    expect(await namespaces.listTenants()).toEqual(['acme', 'beta']);
    await namespaces.updateTenant('acme', { adminRoles: ['ops', 'dev'], allowedClusters: ['standalone'] });
    expect((await namespaces.getTenant('acme')).adminRoles).toEqual(['ops', 'dev']);
    await namespaces.deleteTenant('beta');
    expect(await namespaces.listTenants()).toEqual(['acme']);
  });

  it('answers Conflict for a tenant that exists or still has namespaces, TenantNotFound for one that does not', async () => {
    await namespaces.createTenant('acme', { adminRoles: [], allowedClusters: [] });
    const exists = await rejection(namespaces.createTenant('acme', { adminRoles: [], allowedClusters: [] }));
    expect([exists.code, httpStatusOf(exists)]).toEqual(['Conflict', 409]);
    await namespaces.createNamespace('acme/orders');
    const busy = await rejection(namespaces.deleteTenant('acme'));
    expect([busy.code, httpStatusOf(busy)]).toEqual(['Conflict', 409]);
    const missing = await rejection(namespaces.getTenant('nobody'));
    expect([missing.code, httpStatusOf(missing)]).toEqual(['TenantNotFound', 404]);
    expect(missing.message).toContain('nobody');
    expect(
      (await rejection(namespaces.updateTenant('nobody', { adminRoles: [], allowedClusters: [] }))).code,
    ).toBe('TenantNotFound');
  });

  it('refuses bad names with BadRequest (400)', async () => {
    for (const name of ['', 'a/b', 'sp ace', 'x?y']) {
      const error = await rejection(namespaces.createTenant(name, { adminRoles: [], allowedClusters: [] }));
      expect([error.code, httpStatusOf(error)]).toEqual(['BadRequest', 400]);
    }
    expect((await rejection(namespaces.createNamespace('only-tenant'))).code).toBe('BadRequest');
    expect((await rejection(namespaces.getPolicies('a/b/c'))).code).toBe('BadRequest');
  });
});

describe('broker > service > namespace store > namespaces', () => {
  beforeEach(async () => {
    await namespaces.createTenant('acme', { adminRoles: [], allowedClusters: ['standalone'] });
  });

  it('creates namespaces under an existing tenant only, lists and deletes them', async () => {
    await namespaces.createNamespace('acme/orders');
    await namespaces.createNamespace('acme/billing');
    expect(await namespaces.listNamespaces('acme')).toEqual(['acme/billing', 'acme/orders']);
    expect(await json('/admin/policies/acme/orders')).toMatchObject({ bundles: { numBundles: 1 } });
    expect((await rejection(namespaces.createNamespace('acme/orders'))).code).toBe('Conflict');
    expect((await rejection(namespaces.createNamespace('ghost/orders'))).code).toBe('TenantNotFound');
    expect((await rejection(namespaces.listNamespaces('ghost'))).code).toBe('TenantNotFound');
    await namespaces.deleteNamespace('acme/billing');
    expect(await namespaces.listNamespaces('acme')).toEqual(['acme/orders']);
    const missing = await rejection(namespaces.deleteNamespace('acme/billing'));
    expect([missing.code, httpStatusOf(missing)]).toEqual(['NamespaceNotFound', 404]);
  });

  it('refuses to delete a namespace that has topics (a managed ledger under it): Conflict', async () => {
    await namespaces.createNamespace('acme/orders');
    await store.put('/managed-ledgers/acme/orders/persistent/t1', Buffer.alloc(0));
    const error = await rejection(namespaces.deleteNamespace('acme/orders'));
    expect(error.code).toBe('Conflict');
    expect(error.message).toContain('acme/orders');
  });

  it("stores retention and deduplication in Pulsar's Policies fields, keeping fields it does not know", async () => {
    await namespaces.createNamespace('acme/orders', { message_ttl_in_seconds: 60 });
    expect(await namespaces.getRetention('acme/orders')).toBeUndefined();
    await namespaces.setRetention('acme/orders', { retentionTimeInMinutes: 10, retentionSizeInMB: -1 });
    await namespaces.setDeduplication('acme/orders', true);
    expect(await json('/admin/policies/acme/orders')).toMatchObject({
      retention_policies: { retentionTimeInMinutes: 10, retentionSizeInMB: -1 },
      deduplicationEnabled: true,
      message_ttl_in_seconds: 60,
    });
    expect(await namespaces.getRetention('acme/orders')).toEqual({
      retentionTimeInMinutes: 10,
      retentionSizeInMB: -1,
    });
    const bad = await rejection(
      namespaces.setRetention('acme/orders', { retentionTimeInMinutes: -5, retentionSizeInMB: 0 }),
    );
    expect(bad.code).toBe('BadRequest');
    expect((await rejection(namespaces.setDeduplication('acme/none', true))).code).toBe('NamespaceNotFound');
  });

  it("stores backlog quotas in Pulsar's backlog_quota_map, validated, and removes them", async () => {
    await namespaces.createNamespace('acme/orders');
    expect(await namespaces.getBacklogQuotaMap('acme/orders')).toEqual({});
    const quota = { limitSize: 1024, limitTime: -1, policy: 'producer_exception' } as const;
    await namespaces.setBacklogQuota('acme/orders', quota);
    expect(await json('/admin/policies/acme/orders')).toMatchObject({
      backlog_quota_map: { destination_storage: quota },
    });
    const bad = { limitSize: 10, limitTime: -1, policy: 'drop_everything' as 'producer_exception' };
    expect((await rejection(namespaces.setBacklogQuota('acme/orders', bad))).code).toBe('BadRequest');
    await namespaces.removeBacklogQuota('acme/orders');
    expect(await namespaces.getBacklogQuotaMap('acme/orders')).toEqual({});
  });

  it('keeps every one of many concurrent policy updates (compare-and-set, retried)', async () => {
    await namespaces.createNamespace('acme/orders');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        namespaces.updatePolicies('acme/orders', (p) => ({ ...p, [`field${i}`]: i })),
      ),
    );
    const policies = await namespaces.getPolicies('acme/orders');
    for (let i = 0; i < 8; i++) expect(policies[`field${i}`]).toBe(i);
  });

  it('tells listeners about a policy change', async () => {
    await namespaces.createNamespace('acme/orders');
    const seen: Array<[string, unknown]> = [];
    namespaces.onPoliciesChanged((namespace, policies) =>
      seen.push([namespace, policies.deduplicationEnabled]),
    );
    await namespaces.setDeduplication('acme/orders', true);
    expect(seen).toEqual([['acme/orders', true]]);
  });
});
