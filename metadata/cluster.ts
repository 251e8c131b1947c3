import { randomUUID } from 'node:crypto';
import type { Logger } from '../common';
import {
  BadLedgerLayoutError,
  BookiesStillRegisteredError,
  ClusterNotInitializedError,
  InstanceIdMismatchError,
} from './bookkeeper-errors';
import {
  bookiesPath,
  bucketsPath,
  checkScope,
  cookiesPath,
  instanceIdKey,
  layoutKey,
  ledgersPath,
  readonlyBookiesPath,
  underreplicationPath,
  writableBookiesPath,
} from './bookkeeper-keys';
import { BadVersionError, NoSuchKeyError } from './errors';
import type { MetadataStore } from './metadata-store';

/**
 * A BookKeeper cluster's root keys under a scope, as the etcd driver writes them
 * (etcd/EtcdRegistrationManager.initNewCluster, meta/LedgerLayout.java).
 */
export const ETCD_LEDGER_MANAGER_FACTORY_CLASS =
  'org.apache.bookkeeper.metadata.etcd.EtcdLedgerManagerFactory';
export const ETCD_LEDGER_MANAGER_VERSION = 0;
export const LAYOUT_FORMAT_VERSION = 2;
const LAYOUT_MIN_COMPAT_VERSION = 1;

export interface LedgerLayout {
  layoutFormatVersion: number;
  managerFactoryClass: string;
  managerVersion: number;
}

export const ETCD_LEDGER_LAYOUT: Readonly<LedgerLayout> = {
  layoutFormatVersion: LAYOUT_FORMAT_VERSION,
  managerFactoryClass: ETCD_LEDGER_MANAGER_FACTORY_CLASS,
  managerVersion: ETCD_LEDGER_MANAGER_VERSION,
};

/** `<layoutFormatVersion>\n<managerFactoryClass>:<managerVersion>` */
export function serializeLedgerLayout(layout: LedgerLayout): Buffer {
  return Buffer.from(
    `${layout.layoutFormatVersion}\n${layout.managerFactoryClass}:${layout.managerVersion}`,
    'utf8',
  );
}

export function parseLedgerLayout(bytes: Buffer): LedgerLayout {
  const text = bytes.toString('utf8');
  const lines = text.split('\n');
  const version = lines[0] ?? '';
  if (!/^[0-9]{1,9}$/.test(version)) throw new BadLedgerLayoutError(`no layout format version in '${text}'`);
  const layoutFormatVersion = Number(version);
  if (layoutFormatVersion < LAYOUT_MIN_COMPAT_VERSION || layoutFormatVersion > LAYOUT_FORMAT_VERSION) {
    throw new BadLedgerLayoutError(`layout format version ${layoutFormatVersion} is not supported`);
  }
  const parts = (lines[1] ?? '').split(':');
  if (parts.length !== 2 || parts[0] === '' || !/^-?[0-9]{1,9}$/.test(parts[1] ?? '')) {
    throw new BadLedgerLayoutError(`invalid ledger manager in '${text}'`);
  }
  return { layoutFormatVersion, managerFactoryClass: parts[0]!, managerVersion: Number(parts[1]) };
}

export interface InitNewClusterResult {
  /** False when the cluster already existed (nothing was written). */
  created: boolean;
  instanceId: string;
}

/**
 * Creates a new cluster under `scope`, or does nothing if one exists. BookKeeper does this in one etcd txn
 * ("if the scope key exists do nothing, else put every key"); the store has no multi-key txn, so:
 *
 * 1. `scope` is the commit marker: it is written last, and a cluster counts as initialized only once it exists.
 * 2. Every other key is created if absent, keeping a value that is already there. If a previous attempt died
 *    half-way, re-running completes it and keeps the instance id it already wrote (bookies may have seen it).
 * 3. Two concurrent initializers create each key once (create-if-absent) and so agree on one instance id; the
 *    one whose final create of `scope` wins reports `created: true`, the other `false`.
 */
export async function initNewCluster(
  store: MetadataStore,
  scope: string,
  options: { logger?: Logger } = {},
): Promise<InitNewClusterResult> {
  checkScope(scope);
  if ((await store.get(scope)) !== undefined) {
    return { created: false, instanceId: await getInstanceId(store, scope) };
  }
  const empty = Buffer.alloc(0);
  const keys: Array<[string, Buffer]> = [
    [layoutKey(scope), serializeLedgerLayout(ETCD_LEDGER_LAYOUT)],
    [instanceIdKey(scope), Buffer.from(randomUUID(), 'utf8')],
    [cookiesPath(scope), empty],
    [bookiesPath(scope), empty],
    [writableBookiesPath(scope), empty],
    [readonlyBookiesPath(scope), empty],
    [ledgersPath(scope), empty],
    [bucketsPath(scope), empty],
    [underreplicationPath(scope), empty],
  ];
  for (const [key, value] of keys) await createIfAbsent(store, key, value);
  const created = await createIfAbsent(store, scope, empty);
  const instanceId = await getInstanceId(store, scope);
  options.logger?.info({ scope, instanceId, created }, 'initialized BookKeeper cluster metadata');
  return { created, instanceId };
}

/** True when this call created the key; false when it already existed. */
async function createIfAbsent(store: MetadataStore, key: string, value: Buffer): Promise<boolean> {
  try {
    await store.put(key, value, { expectedVersion: 'absent' });
    return true;
  } catch (error) {
    if (error instanceof BadVersionError) return false;
    throw error;
  }
}

/** Whether `scope` holds a (completely) initialized cluster. */
export async function isClusterInitialized(store: MetadataStore, scope: string): Promise<boolean> {
  checkScope(scope);
  return (await store.get(scope)) !== undefined;
}

/** The cluster instance id (`<scope>/instanceid`); `ClusterNotInitializedError` when there is no cluster. */
export async function getInstanceId(store: MetadataStore, scope: string): Promise<string> {
  checkScope(scope);
  const [marker, instanceId] = await Promise.all([store.get(scope), store.get(instanceIdKey(scope))]);
  if (marker === undefined || instanceId === undefined) throw new ClusterNotInitializedError(scope);
  return instanceId.value.toString('utf8');
}

/** The ledger layout (`<scope>/layout`), or `undefined` when none is written. */
export async function readLayout(store: MetadataStore, scope: string): Promise<LedgerLayout | undefined> {
  checkScope(scope);
  const stored = await store.get(layoutKey(scope));
  return stored === undefined ? undefined : parseLedgerLayout(stored.value);
}

/**
 * Deletes the cluster under `scope`: the `scope` key and every key under `scope/`. Guarded by the instance id
 * (`InstanceIdMismatchError` for another cluster's) and, like BookKeeper, refused while bookies are registered.
 * Returns false when there was nothing to delete.
 *
 * The marker `scope` goes first, so a half-done nuke reads as "not initialized"; `<scope>/instanceid` goes
 * last, so re-running a half-done nuke is still guarded. (BookKeeper deletes the range [scope, scope + "0"),
 * which also catches sibling keys such as `scope-x`; this deletes only `scope` and `scope/...`.)
 */
export async function nukeExistingCluster(
  store: MetadataStore,
  scope: string,
  instanceId: string,
  options: { logger?: Logger } = {},
): Promise<boolean> {
  checkScope(scope);
  const stored = await store.get(instanceIdKey(scope));
  if (stored !== undefined && stored.value.toString('utf8') !== instanceId) {
    throw new InstanceIdMismatchError(scope, instanceId, stored.value.toString('utf8'));
  }
  const dirs = new Set([writableBookiesPath(scope), readonlyBookiesPath(scope)]);
  const bookies = (await store.list(`${bookiesPath(scope)}/`, { keysOnly: true }))
    .map((e) => e.key)
    .filter((k) => !dirs.has(k));
  if (bookies.length > 0) {
    throw new BookiesStillRegisteredError(
      scope,
      bookies.map((k) => k.slice(k.lastIndexOf('/') + 1)),
    );
  }

  let deleted = 0;
  const remove = async (key: string): Promise<void> => {
    try {
      await store.delete(key, 'any');
      deleted++;
    } catch (error) {
      if (!(error instanceof NoSuchKeyError)) throw error;
    }
  };
  await remove(scope);
  const prefix = `${scope}/`;
  const pageSize = 256;
  const deleteParallelMax = 32;
  let start = prefix;
  for (;;) {
    const page = await store.list(prefix, { start, limit: pageSize, keysOnly: true });
    const keys = page.map((e) => e.key).filter((k) => k !== instanceIdKey(scope));
    for (let i = 0; i < keys.length; i += deleteParallelMax) {
      await Promise.all(keys.slice(i, i + deleteParallelMax).map(remove));
    }
    const last = page[page.length - 1];
    if (page.length < pageSize || last === undefined) break;
    start = `${last.key}\u0000`;
  }
  await remove(instanceIdKey(scope));
  options.logger?.info({ scope, keysDeleted: deleted }, 'nuked BookKeeper cluster metadata');
  return deleted > 0;
}
