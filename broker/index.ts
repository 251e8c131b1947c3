export * from './pulsar';
export * from './service';
export { WebSocketService, WebSocketError, closeCodeOf } from './websocket';
export type { WebSocketErrorCode, WebSocketServiceConfig, WebSocketServiceOptions } from './websocket';
