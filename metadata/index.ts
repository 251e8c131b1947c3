// MetadataStore: the interface, its errors, and its two implementations (embedded RocksDB, etcd).
export type {
  Stat,
  StoredValue,
  ExpectedVersion,
  PutOptions,
  ListOptions,
  WatchEvent,
  Watch,
  MetadataSession,
  MetadataStore,
} from './metadata-store';
export {
  MetadataError,
  BadVersionError,
  NoSuchKeyError,
  MetadataUnavailableError,
  BadMetadataUriError,
  SessionLostError,
} from './errors';
export { EmbeddedMetadataStore } from './embedded-metadata-store';
export type { EmbeddedMetadataStoreOptions } from './embedded-metadata-store';
export { EtcdMetadataStore } from './etcd-metadata-store';
export { PortMetadataStore, serveMetadataStore } from './port-metadata-store';
export type { EtcdMetadataStoreOptions } from './etcd-metadata-store';
export { parseMetadataServiceUri, createMetadataStore, DEFAULT_SCOPE } from './metadata-service-uri';
export type { MetadataServiceUri, CreateMetadataStoreOptions } from './metadata-service-uri';

// BookKeeper's metadata on the store, in the etcd driver's key layout and value formats.
export {
  BadLedgerMetadataError,
  LedgerExistsError,
  NoSuchLedgerError,
  LedgerIdExhaustedError,
  ClusterNotInitializedError,
  BadLedgerLayoutError,
  InstanceIdMismatchError,
  BookiesStillRegisteredError,
  BookieAlreadyRegisteredError,
  CookieNotFoundError,
  BadCookieError,
  InvalidCookieError,
} from './bookkeeper-errors';
export {
  ledgerKey,
  ledgerUuid,
  ledgerIdFromKey,
  bucketKey,
  layoutKey,
  instanceIdKey,
  cookieKey,
  writableBookieKey,
  readonlyBookieKey,
} from './bookkeeper-keys';
export {
  DIGEST_TYPE_CODES,
  LEDGER_STATE_CODES,
  INVALID_ENTRY_ID,
  validateLedgerMetadata,
  ensembleForEntry,
} from './ledger-metadata';
export type { LedgerMetadata, LedgerSegment, LedgerState, DigestType } from './ledger-metadata';
export {
  METADATA_FORMAT_VERSION,
  serializeLedgerMetadata,
  parseLedgerMetadata,
  ledgerMetadataFormatVersion,
} from './ledger-metadata-format';
export { LedgerManager } from './ledger-manager';
export type { VersionedLedgerMetadata, LedgerMetadataEvent, ListLedgersOptions } from './ledger-manager';
export { LedgerIdGenerator, bucketOfLedgerId, BUCKET_COUNT } from './ledger-id-generator';
export {
  initNewCluster,
  isClusterInitialized,
  getInstanceId,
  readLayout,
  nukeExistingCluster,
  serializeLedgerLayout,
  parseLedgerLayout,
  ETCD_LEDGER_LAYOUT,
  ETCD_LEDGER_MANAGER_FACTORY_CLASS,
} from './cluster';
export type { LedgerLayout, InitNewClusterResult } from './cluster';
export {
  RegistrationManager,
  RegistrationClient,
  DEFAULT_REGISTRATION_TTL_SECONDS,
} from './bookie-registration';
export type { RegistrationManagerOptions, VersionedCookie, RegisteredBookies } from './bookie-registration';
export {
  COOKIE_LAYOUT_VERSION,
  serializeCookie,
  parseCookie,
  encodeDirPaths,
  cookieMismatch,
  cookieMatches,
  verifyCookie,
} from './cookie';
export type { Cookie } from './cookie';
