export { bookieConfigSchema } from './bookie-config';
export type { BookieConfig } from './bookie-config';
export { BookieMetrics } from './bookie-metrics';
export * from './identity';
export * from './state';
export * from './http';
export { DiskMonitor, statfsDiskSpace } from './disk-monitor';
export type {
  DiskMonitorOptions,
  DiskSpaceSample,
  DiskSpaceSource,
  DiskStateTarget,
  DiskCheckReport,
  LedgerDirReport,
  LedgerDirStatus,
} from './disk-monitor';
export * from './journal';
