// The Kafka request handler: Kafka's topic APIs over the broker's topics, group APIs passed to the coordinator.
export { KafkaRequestHandler } from './kafka-request-handler';
export type { KafkaGroupApiHandler, KafkaRequestHandlerOptions } from './kafka-request-handler';
export { KafkaTopics, KafkaTopicError } from './kafka-topics';
export { PartitionLog } from './partition-log';
export {
  KAFKA_ENTRY_FORMAT,
  KAFKA_ENTRY_FORMAT_PROPERTY,
  encodeKafkaEntry,
  entryToBatch,
} from './entry-batches';
export { advertisedKafkaBroker, kafkaNodeId, parseKafkaListener } from './listeners';
export type { KafkaAdvertisedBroker, KafkaEndpoint } from './listeners';
export { KafkaGroupApis } from './group-apis';
export type { AdvertisedNode, KafkaGroupApisOptions } from './group-apis';
export { KafkaGroupsAdminView } from './kafka-groups-admin-view';
export type { KafkaGroupsAdminViewOptions } from './kafka-groups-admin-view';
