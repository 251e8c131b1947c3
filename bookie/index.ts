export { bookieConfigSchema } from './bookie-config';
export type { BookieConfig } from './bookie-config';
export { BookieMetrics } from './bookie-metrics';
export { Bookie } from './bookie';
export type { BookieOptions } from './bookie';
export type {
  AddEntryRequest,
  AddCallback,
  ReadEntryResult,
  LongPollRequest,
  ReadLacResult,
  BookieInfoResult,
  EntriesOfLedgerResult,
  ReadOnlyListener,
} from './bookie-requests';
export { BookieError } from './bookie-errors';
export { openBookie } from './open-bookie';
export { journalFilesFor } from './journal-files';
export type { JournalFiles } from './journal-recovery';
export { BookieServer, DEFAULT_CONNECTION_LIMITS, AUTH_DISABLED_PLUGIN } from './server';
export type { BookieServerOptions, ConnectionLimits } from './server';
export * from './journal';
export * from './storage';
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
export { BookieService, BookieStartError, bookieIdOf } from './bookie-service';
export type { BookieServiceOptions } from './bookie-service';
