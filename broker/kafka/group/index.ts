// Kafka's consumer-group coordinator as an in-memory state machine (no I/O): groups, rebalances, committed offsets.
export { GroupCoordinator, DEFAULT_GROUP_COORDINATOR_CONFIG } from './group-coordinator';
export type {
  CommittedOffsetSnapshot,
  GroupCoordinatorConfig,
  GroupCoordinatorOptions,
  GroupMemberSnapshot,
  GroupSnapshot,
} from './group-coordinator';
export type { GroupState } from './group';
export { decodeConsumerAssignment } from './consumer-protocol';
export type {
  ConsumerAssignedTopic,
  ConsumerAssignment,
  DecodedConsumerAssignment,
} from './consumer-protocol';
export { GroupCoordinatorError, GroupErrorCode } from './errors';
export { InMemoryOffsetStore } from './offset-store';
export { DurableOffsetStore, OffsetStoreError, SNAPSHOT_CURSOR } from './durable-offset-store';
export type { DurableOffsetStoreOptions, OffsetStoreErrorCode } from './durable-offset-store';
export type { CommittedOffset, OffsetStore } from './offset-store';
export { systemScheduler } from './scheduler';
export type { ScheduledTask, Scheduler } from './scheduler';
export type * from './messages';
