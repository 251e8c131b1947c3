/** broker/websocket — Pulsar's WebSocket API v2 (producer, consumer, reader) over the BrokerService. See README.md. */
export { WebSocketService } from './websocket-service';
export type { WebSocketServiceConfig, WebSocketServiceOptions } from './websocket-service';
export { WebSocketError, closeCodeOf } from './websocket-error';
export type { WebSocketErrorCode } from './websocket-error';
