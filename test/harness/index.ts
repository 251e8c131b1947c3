export { freePort, freePorts } from './ports';
export { TempDirs } from './temp-dirs';
export { EtcdServer } from './etcd';
export { captureError } from './capture-error';
export { openLedgerMetadata, closedLedgerMetadata, eventually } from './ledger-fixtures';
export { BookieClient } from './bookie-client';
export type { AddEntryArgs, LongPollArgs, RequestBody } from './bookie-client';
export { cutPower, durabilityFromStrace } from './power-cut';
export type { ByteRange, FileDurability, PowerCutOptions } from './power-cut';
export {
  requireBuiltBookie,
  startBareBookie,
  startLedgerlineBookie,
  writeBookieConf,
} from './bookie-processes';
export type { BookieProcess, StartOptions } from './bookie-processes';
export { fillUntilEnospc, mountTmpfs } from './tmpfs';
export { adminSaysReadOnly, registeredAs } from './bookie-registration';
export { MetadataCluster } from './metadata-cluster';
export type { BookieConfFile } from './metadata-cluster';
export { EntryPacker } from './entry-packer';
export { BookieCluster, TEST_BOOKIE_CONF } from './bookie-cluster';
export type { BookieClusterOptions, ClusterBookie, ClusterBookieState } from './bookie-cluster';
export { FaultProxy } from './fault-proxy';
export type {
  Direction,
  FaultAction,
  FaultProxyOptions,
  FaultRule,
  LogMatch,
  LoggedMessage,
  MessageFilter,
  MessageMatch,
  ProxiedMessage,
} from './fault-proxy';
export { HistoryChecker } from './history-checker';
export type { Anomaly, AnomalyKind, AppendHandle, AppendOutcome, HistoryReport } from './history-checker';
export { seededRandom, testSeed } from './seed';
export { closesWithin, rawConnection } from './raw-connection';
export { takesDirectIo } from './direct-io';
