import type { Logger } from '../../common';
import { MANAGED_LEDGERS_ROOT } from '../../managed-ledger';
import { BadVersionError, NoSuchKeyError } from '../../metadata';
import type { MetadataStore, StoredValue } from '../../metadata';
import { BrokerError } from './errors';

/** Pulsar's TenantInfo JSON. */
export interface TenantInfo {
  adminRoles: string[];
  allowedClusters: string[];
}

/** Pulsar's RetentionPolicies JSON: -1 = unlimited, 0 = none. */
export interface RetentionPolicies {
  retentionTimeInMinutes: number;
  retentionSizeInMB: number;
}

/** What happens when a topic's backlog is over the quota (Pulsar's BacklogQuota.RetentionPolicy). */
export type BacklogQuotaPolicy = 'producer_request_hold' | 'producer_exception' | 'consumer_backlog_eviction';
export const BACKLOG_QUOTA_POLICIES: readonly BacklogQuotaPolicy[] = [
  'producer_request_hold',
  'producer_exception',
  'consumer_backlog_eviction',
];

/**
 * Pulsar's BacklogQuota JSON: limitSize in bytes (-1: none), the destination_storage quota's limit; limitTime in
 * seconds (-1: none), the message_age quota's.
 */
export interface BacklogQuota {
  limitSize: number;
  limitTime: number;
  policy: BacklogQuotaPolicy;
}

/** The backlog quota type Pulsar keys size quotas by. */
export const DESTINATION_STORAGE = 'destination_storage';
/** Pulsar's BacklogQuotaType for quotas on the age of the oldest unacknowledged message (limitTime). */
export const MESSAGE_AGE = 'message_age';
export type BacklogQuotaType = typeof DESTINATION_STORAGE | typeof MESSAGE_AGE;

/**
 * A namespace's policies, in the fields of Pulsar's Policies JSON that ledgerline acts on; other fields written
 * by someone else are kept as they are (read, merged, written back).
 */
export interface Policies {
  retention_policies?: RetentionPolicies;
  /** Absent: the broker's brokerDeduplicationEnabled decides. */
  deduplicationEnabled?: boolean;
  /** Keyed by quota type: `destination_storage` (size) and `message_age` (time). */
  backlog_quota_map?: Record<string, BacklogQuota>;
  replication_clusters?: string[];
  bundles?: { boundaries: string[]; numBundles: number };
  [field: string]: unknown;
}

/** Pulsar's ClusterData JSON (the parts a standalone broker fills in). */
export interface ClusterData {
  serviceUrl: string;
  brokerServiceUrl?: string;
}

export const POLICIES_ROOT = '/admin/policies';
export const CLUSTERS_ROOT = '/admin/clusters';
/** Tenant and namespace names: Pulsar's NamedEntity rule. */
const NAME_PATTERN = /^[-=:.\w]+$/;
/** Compare-and-set attempts of one update before it reports a conflict. */
const CAS_ATTEMPTS = 10;

/**
 * Tenants, namespaces and their policies in the metadata store, at Pulsar's paths and in its JSON:
 * `/admin/policies/<tenant>` (TenantInfo), `/admin/policies/<tenant>/<namespace>` (Policies),
 * `/admin/clusters/<cluster>` (ClusterData). Every update is a compare-and-set on the node's version (retried
 * on a lost race, up to CAS_ATTEMPTS), so concurrent admins never lose each other's changes. Errors are
 * BrokerErrors: TenantNotFound/NamespaceNotFound (404), Conflict (409: exists, or not empty), BadRequest (400),
 * PreconditionFailed (412: the node kept changing under the update).
 */
export class NamespaceStore {
  private readonly listeners = new Set<(namespace: string, policies: Policies) => void>();

  constructor(
    private readonly store: MetadataStore,
    private readonly logger: Logger,
  ) {}

  /** Called after a namespace's policies change through this store (the broker updates its loaded topics). */
  onPoliciesChanged(listener: (namespace: string, policies: Policies) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- clusters ----

  async createClusterIfAbsent(cluster: string, data: ClusterData): Promise<void> {
    checkName('cluster', cluster);
    await this.createIfAbsent(`${CLUSTERS_ROOT}/${cluster}`, data);
  }

  async listClusters(): Promise<string[]> {
    return this.children(CLUSTERS_ROOT);
  }

  // ---- tenants ----

  async createTenant(tenant: string, info: TenantInfo): Promise<void> {
    checkName('tenant', tenant);
    try {
      await this.store.put(tenantKey(tenant), toJson(info), { expectedVersion: 'absent' });
    } catch (error) {
      if (error instanceof BadVersionError)
        throw new BrokerError('Conflict', `Tenant ${tenant} already exists`);
      throw error;
    }
    this.logger.info({ tenant }, 'tenant created');
  }

  /** Creates the tenant unless it exists; true if it was created. */
  async createTenantIfAbsent(tenant: string, info: TenantInfo): Promise<boolean> {
    checkName('tenant', tenant);
    return this.createIfAbsent(tenantKey(tenant), info);
  }

  async getTenant(tenant: string): Promise<TenantInfo> {
    checkName('tenant', tenant);
    const found = await this.store.get(tenantKey(tenant));
    if (found === undefined) throw tenantNotFound(tenant);
    return parseJson<TenantInfo>(found, `tenant ${tenant}`);
  }

  async listTenants(): Promise<string[]> {
    return this.children(POLICIES_ROOT);
  }

  async updateTenant(tenant: string, info: TenantInfo): Promise<void> {
    checkName('tenant', tenant);
    await this.update(
      tenantKey(tenant),
      () => tenantNotFound(tenant),
      () => info,
    );
  }

  /** Fails with Conflict (409) while the tenant has namespaces, as Pulsar does. */
  async deleteTenant(tenant: string): Promise<void> {
    checkName('tenant', tenant);
    const found = await this.store.get(tenantKey(tenant));
    if (found === undefined) throw tenantNotFound(tenant);
    const namespaces = await this.listNamespaces(tenant);
    if (namespaces.length > 0) {
      throw new BrokerError('Conflict', `The tenant ${tenant} still has ${namespaces.length} namespace(s)`);
    }
    await this.deleteNode(tenantKey(tenant), found.stat.version, () => tenantNotFound(tenant));
    this.logger.info({ tenant }, 'tenant deleted');
  }

  // ---- namespaces ----

  /** `namespace` is `tenant/ns`; the tenant must exist (TenantNotFound), the namespace must not (Conflict). */
  async createNamespace(namespace: string, policies: Policies = {}): Promise<void> {
    const [tenant] = splitNamespace(namespace);
    if ((await this.store.get(tenantKey(tenant))) === undefined) throw tenantNotFound(tenant);
    try {
      await this.store.put(namespaceKey(namespace), toJson(withDefaults(policies)), {
        expectedVersion: 'absent',
      });
    } catch (error) {
      if (error instanceof BadVersionError)
        throw new BrokerError('Conflict', `Namespace ${namespace} already exists`);
      throw error;
    }
    this.logger.info({ namespace }, 'namespace created');
  }

  async createNamespaceIfAbsent(namespace: string, policies: Policies = {}): Promise<boolean> {
    splitNamespace(namespace);
    return this.createIfAbsent(namespaceKey(namespace), withDefaults(policies));
  }

  async getPolicies(namespace: string): Promise<Policies> {
    splitNamespace(namespace);
    const found = await this.store.get(namespaceKey(namespace));
    if (found === undefined) throw namespaceNotFound(namespace);
    return parseJson<Policies>(found, `namespace ${namespace}`);
  }

  /** The namespaces of a tenant, as `tenant/ns` (TenantNotFound if the tenant does not exist). */
  async listNamespaces(tenant: string): Promise<string[]> {
    checkName('tenant', tenant);
    if ((await this.store.get(tenantKey(tenant))) === undefined) throw tenantNotFound(tenant);
    const names = await this.children(tenantKey(tenant));
    return names.map((ns) => `${tenant}/${ns}`);
  }

  /** Fails with Conflict (409) while the namespace has topics, as Pulsar does ("non empty namespace"). */
  async deleteNamespace(namespace: string): Promise<void> {
    splitNamespace(namespace);
    const found = await this.store.get(namespaceKey(namespace));
    if (found === undefined) throw namespaceNotFound(namespace);
    const topics = await this.store.list(`${MANAGED_LEDGERS_ROOT}/${namespace}/`, {
      keysOnly: true,
      limit: 1,
    });
    if (topics.length > 0)
      throw new BrokerError('Conflict', `Cannot delete non empty namespace ${namespace}`);
    await this.deleteNode(namespaceKey(namespace), found.stat.version, () => namespaceNotFound(namespace));
    this.logger.info({ namespace }, 'namespace deleted');
  }

  async setRetention(namespace: string, retention: RetentionPolicies): Promise<void> {
    if (
      !Number.isInteger(retention.retentionTimeInMinutes) ||
      !Number.isInteger(retention.retentionSizeInMB) ||
      retention.retentionTimeInMinutes < -1 ||
      retention.retentionSizeInMB < -1
    ) {
      throw new BrokerError(
        'BadRequest',
        `Invalid retention policy for ${namespace}: retentionTimeInMinutes and retentionSizeInMB must be integers >= -1`,
      );
    }
    const { retentionTimeInMinutes, retentionSizeInMB } = retention;
    await this.updatePolicies(namespace, (p) => ({
      ...p,
      retention_policies: { retentionTimeInMinutes, retentionSizeInMB },
    }));
  }

  /** The namespace's retention, or undefined when it has none of its own (the broker's defaults apply). */
  async getRetention(namespace: string): Promise<RetentionPolicies | undefined> {
    return (await this.getPolicies(namespace)).retention_policies;
  }

  async setDeduplication(namespace: string, enabled: boolean): Promise<void> {
    await this.updatePolicies(namespace, (p) => ({ ...p, deduplicationEnabled: enabled }));
  }

  /** Sets one of the namespace's backlog quotas (Pulsar's POST .../backlogQuota?backlogQuotaType=). */
  async setBacklogQuota(
    namespace: string,
    quota: BacklogQuota,
    type: BacklogQuotaType = DESTINATION_STORAGE,
  ): Promise<void> {
    const { limitSize, limitTime, policy } = quota;
    if (
      !Number.isSafeInteger(limitSize) ||
      limitSize < -1 ||
      !Number.isSafeInteger(limitTime) ||
      limitTime < -1 ||
      !BACKLOG_QUOTA_POLICIES.includes(policy)
    ) {
      throw new BrokerError(
        'BadRequest',
        `Invalid backlog quota for ${namespace}: limitSize and limitTime are integers >= -1, policy one of ${BACKLOG_QUOTA_POLICIES.join(', ')}`,
      );
    }
    await this.updatePolicies(namespace, (p) => ({
      ...p,
      backlog_quota_map: { ...p.backlog_quota_map, [type]: { limitSize, limitTime, policy } },
    }));
  }

  async removeBacklogQuota(namespace: string, type: BacklogQuotaType = DESTINATION_STORAGE): Promise<void> {
    await this.updatePolicies(namespace, (p) => {
      const { [type]: _removed, ...rest } = p.backlog_quota_map ?? {};
      return { ...p, backlog_quota_map: rest };
    });
  }

  /** The namespace's backlog quotas by type (Pulsar's GET .../backlogQuotaMap); {} when none. */
  async getBacklogQuotaMap(namespace: string): Promise<Record<string, BacklogQuota>> {
    return (await this.getPolicies(namespace)).backlog_quota_map ?? {};
  }

  async updatePolicies(namespace: string, change: (policies: Policies) => Policies): Promise<Policies> {
    splitNamespace(namespace);
    const policies = await this.update(namespaceKey(namespace), () => namespaceNotFound(namespace), change);
    for (const listener of this.listeners) listener(namespace, policies);
    return policies;
  }

  // ---- nodes ----

  /** Read, change, compare-and-set; again on a lost race. */
  private async update<T>(key: string, notFound: () => BrokerError, change: (value: T) => T): Promise<T> {
    for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
      const found = await this.store.get(key);
      if (found === undefined) throw notFound();
      const next = change(parseJson<T>(found, key));
      try {
        await this.store.put(key, toJson(next), { expectedVersion: found.stat.version });
        return next;
      } catch (error) {
        if (error instanceof NoSuchKeyError) throw notFound();
        if (!(error instanceof BadVersionError)) throw error;
        this.logger.debug({ key, attempt }, 'policies changed under an update; retrying');
      }
    }
    throw new BrokerError('PreconditionFailed', `${key} kept changing during the update; try again`);
  }

  private async deleteNode(key: string, version: bigint, notFound: () => BrokerError): Promise<void> {
    try {
      await this.store.delete(key, version);
    } catch (error) {
      if (error instanceof NoSuchKeyError) throw notFound();
      if (error instanceof BadVersionError) {
        throw new BrokerError('PreconditionFailed', `${key} changed during the delete; try again`);
      }
      throw error;
    }
  }

  private async createIfAbsent(key: string, value: unknown): Promise<boolean> {
    try {
      await this.store.put(key, toJson(value), { expectedVersion: 'absent' });
      return true;
    } catch (error) {
      if (error instanceof BadVersionError) return false;
      throw error;
    }
  }

  /** The names directly under `parent` (one path segment), sorted. */
  private async children(parent: string): Promise<string[]> {
    const prefix = `${parent}/`;
    const nodes = await this.store.list(prefix, { keysOnly: true });
    const names = new Set<string>();
    for (const { key } of nodes) {
      const rest = key.slice(prefix.length);
      if (rest !== '' && !rest.includes('/')) names.add(rest);
    }
    return [...names].sort();
  }
}

function tenantKey(tenant: string): string {
  return `${POLICIES_ROOT}/${tenant}`;
}

function namespaceKey(namespace: string): string {
  return `${POLICIES_ROOT}/${namespace}`;
}

function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new BrokerError('BadRequest', `Invalid ${what} name "${String(name)}"`);
  }
}

/** `tenant/ns` → [tenant, ns]; BadRequest for anything else. */
export function splitNamespace(namespace: string): [string, string] {
  const parts = typeof namespace === 'string' ? namespace.split('/') : [];
  const [tenant, ns] = parts;
  if (parts.length !== 2 || tenant === undefined || ns === undefined) {
    throw new BrokerError(
      'BadRequest',
      `Invalid namespace name "${String(namespace)}": expected tenant/namespace`,
    );
  }
  checkName('tenant', tenant);
  checkName('namespace', ns);
  return [tenant, ns];
}

function withDefaults(policies: Policies): Policies {
  return { bundles: { boundaries: ['0x00000000', '0xffffffff'], numBundles: 1 }, ...policies };
}

function tenantNotFound(tenant: string): BrokerError {
  return new BrokerError('TenantNotFound', `Tenant ${tenant} does not exist`);
}

function namespaceNotFound(namespace: string): BrokerError {
  return new BrokerError('NamespaceNotFound', `Namespace ${namespace} does not exist`);
}

function toJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function parseJson<T>(node: StoredValue, what: string): T {
  try {
    return JSON.parse(node.value.toString('utf8')) as T;
  } catch (error) {
    throw new BrokerError('PersistenceError', `${what}: the stored JSON does not parse`, { cause: error });
  }
}
