/** broker/admin — Pulsar's admin REST API (/admin/v2 subset) over the BrokerService. See README.md. */
export { registerAdminRoutes, adminErrorStatus } from './admin-routes';
export type { AdminRoutesOptions } from './admin-routes';
export { messageIdJson } from './topic-routes';
