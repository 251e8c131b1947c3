/** broker/http — the broker's HTTP server (admin REST, /metrics, lookup, WebSocket upgrades). See README.md. */
export { BrokerHttpServer } from './broker-http-server';
export type { BrokerHttpServerOptions, HttpExchange, RouteHandler } from './broker-http-server';
export {
  HttpError,
  REQUEST_BODY_BYTES_MAX,
  readBody,
  parseJsonBody,
  toJson,
  sendJson,
  sendNoContent,
  sendReason,
} from './http-exchange';
