export { LedgerlineError, ConfigError, sendError } from './errors';
export type { SentError } from './errors';
export { RequestBodyTooLargeError, readRequestBody } from './http-body';
export { parseConfText, readConfFile, environmentOverrides, loadConfig } from './config';
export type { LoadConfigOptions } from './config';
export { setting } from './settings';
export { createRootLogger, silentLogger } from './logger';
export type { Logger } from './logger';
export { HotCounter, HotHistogram } from './hot-metrics';
export type { CounterCell, HistogramCell } from './hot-metrics';
export { ChurnMap, churnKey } from './churn-map';
export {
  DIRECT_IO_BLOCK_BYTES,
  alignedBuffer,
  openDirect,
  roundUpToBlock,
  writeFully,
  writeFullyInBackground,
} from './direct-io';
