export * from './pulsar';
export * from './service';
export { Broker } from './broker';
export type { BrokerStartOptions } from './broker';
export { BrokerHttpServer } from './http';
export { registerAdminRoutes } from './admin';
export { WebSocketService, WebSocketError, closeCodeOf } from './websocket';
export type { WebSocketErrorCode, WebSocketServiceConfig, WebSocketServiceOptions } from './websocket';
export { DurableOffsetStore, OffsetStoreError } from './kafka/group';
export type { CommittedOffset, DurableOffsetStoreOptions } from './kafka/group';
// The Kafka protocol layer (issue 7): codec, record batches, the listener, the request handler.
export * from './kafka/protocol';
export * from './kafka/record';
export { KafkaConnection, KafkaServer } from './kafka/server';
// The handler's class is KafkaRequestHandler; the connection layer's interface it implements is this one.
export type {
  KafkaConnectionInfo,
  KafkaConnectionOptions,
  KafkaRequestHandler as KafkaServerHandler,
  KafkaServerOptions,
} from './kafka/server';
export * from './kafka/handler';
