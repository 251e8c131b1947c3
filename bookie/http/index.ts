// The bookie's admin HTTP server: BookKeeper's /api/v1/bookie/* endpoints, /heartbeat and /metrics.
export { BookieHttpServer } from './bookie-http-server';
export type { BookieHttpServerOptions } from './bookie-http-server';
export type { AdminTarget, AdminState, AdminGc, GcRequest, GcStatus, BookieDiskFiles } from './admin-target';
export { listBookieDiskFiles } from './disk-files';
export type { BookieDirs } from './disk-files';
