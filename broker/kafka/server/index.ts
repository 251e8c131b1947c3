// The Kafka listener: connections that answer requests one at a time, in order, through a KafkaRequestHandler.
export { KafkaConnection } from './kafka-connection';
export type { KafkaConnectionInfo, KafkaConnectionOptions, KafkaRequestHandler } from './kafka-connection';
export { KafkaServer } from './kafka-server';
export type { KafkaServerOptions } from './kafka-server';
