import { BadLedgerMetadataError } from './bookkeeper-errors';

/**
 * BookKeeper's etcd driver key layout (metadata/etcd/EtcdUtils.java, EtcdConstants.java), all under a scope such
 * as `/ledgers`:
 *
 *   <scope>                                  empty; marks an initialized cluster
 *   <scope>/layout                           `2\n<managerFactoryClass>:<managerVersion>`
 *   <scope>/instanceid                       random UUID, the cluster instance id
 *   <scope>/cookies/<bookieId>               cookie text
 *   <scope>/bookies/writable/<bookieId>      empty, on the bookie's lease
 *   <scope>/bookies/readonly/<bookieId>      empty, on the bookie's lease
 *   <scope>/ledgers/<uuid(0, ledgerId)>      ledger metadata (format v3)
 *   <scope>/buckets/%03d                     ledger id buckets 000-127 (empty; their key version counts ids)
 *   <scope>/underreplication                 empty (the etcd driver has no under-replication manager)
 */
export const LAYOUT_NODE = 'layout';
export const INSTANCEID_NODE = 'instanceid';
export const COOKIES_NODE = 'cookies';
export const LEDGERS_NODE = 'ledgers';
export const BUCKETS_NODE = 'buckets';
export const MEMBERS_NODE = 'bookies';
export const WRITABLE_NODE = 'writable';
export const READONLY_NODE = 'readonly';
export const UNDERREPLICATION_NODE = 'underreplication';
/** The character after '/', so `[p + '/', p + '0')` is every key under `p/`. */
export const END_SEP = '0';

const LEDGER_ID_MAX = (1n << 63n) - 1n;

/** Throws unless `scope` can prefix keys: non-empty, not ending in '/'. */
export function checkScope(scope: string): void {
  if (scope.length === 0 || scope.endsWith('/')) {
    throw new TypeError(`a metadata scope must be non-empty and not end with '/', got '${scope}'`);
  }
}

export const layoutKey = (scope: string): string => `${scope}/${LAYOUT_NODE}`;
export const instanceIdKey = (scope: string): string => `${scope}/${INSTANCEID_NODE}`;
export const cookiesPath = (scope: string): string => `${scope}/${COOKIES_NODE}`;
export const cookieKey = (scope: string, bookieId: string): string => `${scope}/${COOKIES_NODE}/${bookieId}`;
export const bookiesPath = (scope: string): string => `${scope}/${MEMBERS_NODE}`;
export const writableBookiesPath = (scope: string): string => `${scope}/${MEMBERS_NODE}/${WRITABLE_NODE}`;
export const readonlyBookiesPath = (scope: string): string => `${scope}/${MEMBERS_NODE}/${READONLY_NODE}`;
export const writableBookieKey = (scope: string, bookieId: string): string =>
  `${writableBookiesPath(scope)}/${bookieId}`;
export const readonlyBookieKey = (scope: string, bookieId: string): string =>
  `${readonlyBookiesPath(scope)}/${bookieId}`;
export const ledgersPath = (scope: string): string => `${scope}/${LEDGERS_NODE}`;
export const bucketsPath = (scope: string): string => `${scope}/${BUCKETS_NODE}`;
export const underreplicationPath = (scope: string): string => `${scope}/${UNDERREPLICATION_NODE}`;

export function bucketKey(scope: string, bucket: number): string {
  return `${scope}/${BUCKETS_NODE}/${String(bucket).padStart(3, '0')}`;
}

/**
 * `java.util.UUID(0, ledgerId).toString()`: the 64-bit id as 16 lowercase hex digits, split 4-12 after a zero
 * most-significant half, e.g. 1 -> `00000000-0000-0000-0000-000000000001`.
 */
export function ledgerUuid(ledgerId: bigint): string {
  if (ledgerId < 0n || ledgerId > LEDGER_ID_MAX) {
    throw new BadLedgerMetadataError(`ledger id ${ledgerId} is outside [0, 2^63)`);
  }
  const hex = ledgerId.toString(16).padStart(16, '0');
  return `00000000-0000-0000-${hex.slice(0, 4)}-${hex.slice(4)}`;
}

export function ledgerKey(scope: string, ledgerId: bigint): string {
  return `${ledgersPath(scope)}/${ledgerUuid(ledgerId)}`;
}

const LEDGER_UUID_RE = /^00000000-0000-0000-([0-9a-f]{4})-([0-9a-f]{12})$/;

/** The ledger id a ledger key (or its UUID) names, or `undefined` when it names none. */
export function ledgerIdFromKey(key: string): bigint | undefined {
  const match = LEDGER_UUID_RE.exec(key.slice(key.lastIndexOf('/') + 1));
  if (match === null) return undefined;
  const id = BigInt(`0x${match[1]}${match[2]}`);
  return id > LEDGER_ID_MAX ? undefined : id;
}
