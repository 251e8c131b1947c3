export * from './pulsar';
export * from './service';
export { Broker } from './broker';
export type { BrokerStartOptions } from './broker';
export { BrokerHttpServer } from './http';
export { registerAdminRoutes } from './admin';
export { WebSocketService, WebSocketError, closeCodeOf } from './websocket';
export type { WebSocketErrorCode, WebSocketServiceConfig, WebSocketServiceOptions } from './websocket';
