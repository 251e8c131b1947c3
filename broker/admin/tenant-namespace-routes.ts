import type { BrokerHttpServer } from '../http';
import { readBody, sendJson, sendNoContent } from '../http';
import type { BrokerService } from '../service';
import {
  backlogQuotaOf,
  booleanOf,
  checkedBacklogQuotaType,
  checkedName,
  policiesOf,
  retentionOf,
  tenantInfoOf,
} from './admin-input';

/**
 * Pulsar's /admin/v2 clusters, tenants and namespaces (pulsar.md §5), over the broker's NamespaceStore. The store
 * answers with BrokerErrors whose codes map to Pulsar's statuses (404, 409, 412); these handlers only check
 * input and shape replies.
 */
export function registerTenantNamespaceRoutes(server: BrokerHttpServer, broker: BrokerService): void {
  const store = broker.namespaces;

  server.route('GET', '/admin/v2/clusters', async ({ res }) =>
    sendJson(res, 200, await store.listClusters()),
  );

  server.route('GET', '/admin/v2/tenants', async ({ res }) => sendJson(res, 200, await store.listTenants()));
  server.route('GET', '/admin/v2/tenants/:tenant', async ({ res, params }) => {
    sendJson(res, 200, await store.getTenant(checkedName('tenant', params.tenant)));
  });
  server.route('PUT', '/admin/v2/tenants/:tenant', async ({ req, res, params }) => {
    const tenant = checkedName('tenant', params.tenant);
    await store.createTenant(tenant, tenantInfoOf(await readBody(req)));
    sendNoContent(res);
  });
  server.route('POST', '/admin/v2/tenants/:tenant', async ({ req, res, params }) => {
    const tenant = checkedName('tenant', params.tenant);
    await store.updateTenant(tenant, tenantInfoOf(await readBody(req)));
    sendNoContent(res);
  });
  server.route('DELETE', '/admin/v2/tenants/:tenant', async ({ res, params }) => {
    await store.deleteTenant(checkedName('tenant', params.tenant));
    sendNoContent(res);
  });

  const namespaceOf = (params: Readonly<Record<string, string | undefined>>): string =>
    `${checkedName('tenant', params.tenant)}/${checkedName('namespace', params.namespace)}`;

  server.route('GET', '/admin/v2/namespaces/:tenant', async ({ res, params }) => {
    sendJson(res, 200, await store.listNamespaces(checkedName('tenant', params.tenant)));
  });
  server.route('PUT', '/admin/v2/namespaces/:tenant/:namespace', async ({ req, res, params }) => {
    const namespace = namespaceOf(params);
    // The optional Policies body: the retention, deduplication and backlog quota the namespace starts with.
    await store.createNamespace(namespace, policiesOf(await readBody(req)));
    sendNoContent(res);
  });
  server.route('GET', '/admin/v2/namespaces/:tenant/:namespace', async ({ res, params }) => {
    sendJson(res, 200, await store.getPolicies(namespaceOf(params)));
  });
  server.route('DELETE', '/admin/v2/namespaces/:tenant/:namespace', async ({ res, params }) => {
    await store.deleteNamespace(namespaceOf(params));
    sendNoContent(res);
  });
  server.route('GET', '/admin/v2/namespaces/:tenant/:namespace/topics', async ({ res, params }) => {
    const namespace = namespaceOf(params);
    await store.getPolicies(namespace); // 404 for a namespace that does not exist
    sendJson(res, 200, await broker.listTopics(namespace));
  });
  server.route('GET', '/admin/v2/namespaces/:tenant/:namespace/retention', async ({ res, params }) => {
    const retention = await store.getRetention(namespaceOf(params));
    // Unset: Pulsar's resource returns null, which its REST layer sends as 204 No Content.
    if (retention === undefined) sendNoContent(res);
    else sendJson(res, 200, retention);
  });
  server.route('POST', '/admin/v2/namespaces/:tenant/:namespace/retention', async ({ req, res, params }) => {
    const namespace = namespaceOf(params);
    await store.setRetention(namespace, retentionOf(await readBody(req)));
    sendNoContent(res);
  });
  server.route('GET', '/admin/v2/namespaces/:tenant/:namespace/deduplication', async ({ res, params }) => {
    const policies = await store.getPolicies(namespaceOf(params));
    // Unset: null from Pulsar's resource, 204 No Content on the wire (as retention).
    if (policies.deduplicationEnabled === undefined) sendNoContent(res);
    else sendJson(res, 200, policies.deduplicationEnabled);
  });
  server.route(
    'POST',
    '/admin/v2/namespaces/:tenant/:namespace/deduplication',
    async ({ req, res, params }) => {
      const namespace = namespaceOf(params);
      await store.setDeduplication(namespace, booleanOf('deduplication flag', await readBody(req)));
      sendNoContent(res);
    },
  );

  // Backlog quotas (Pulsar's Namespaces backlogQuota/backlogQuotaMap): `destination_storage` (size) and
  // `message_age` (the oldest unacknowledged message's age), by ?backlogQuotaType=.
  const BACKLOG_QUOTA = '/admin/v2/namespaces/:tenant/:namespace/backlogQuota';
  server.route('GET', `${BACKLOG_QUOTA}Map`, async ({ res, params }) => {
    sendJson(res, 200, await store.getBacklogQuotaMap(namespaceOf(params)));
  });
  server.route('GET', BACKLOG_QUOTA, async ({ res, params, query }) => {
    const namespace = namespaceOf(params);
    const type = checkedBacklogQuotaType(query.get('backlogQuotaType'));
    const quota = (await store.getBacklogQuotaMap(namespace))[type];
    // Unset: null, sent as 204 No Content (as retention).
    if (quota === undefined) sendNoContent(res);
    else sendJson(res, 200, quota);
  });
  server.route('POST', BACKLOG_QUOTA, async ({ req, res, params, query }) => {
    const namespace = namespaceOf(params);
    const type = checkedBacklogQuotaType(query.get('backlogQuotaType'));
    await store.setBacklogQuota(namespace, backlogQuotaOf(await readBody(req)), type);
    sendNoContent(res);
  });
  server.route('DELETE', BACKLOG_QUOTA, async ({ res, params, query }) => {
    const namespace = namespaceOf(params);
    const type = checkedBacklogQuotaType(query.get('backlogQuotaType'));
    await store.removeBacklogQuota(namespace, type);
    sendNoContent(res);
  });
}
