export { BookieServer } from './bookie-server';
export type { BookieServerOptions } from './bookie-server';
export { DEFAULT_CONNECTION_LIMITS } from './bookie-connection';
export type { ConnectionLimits } from './bookie-connection';
export { AUTH_DISABLED_PLUGIN } from './request-processor';
