import { KafkaErrorCode, isRetriableKafkaError, kafkaErrorName } from '../../../../../broker/kafka/protocol';

describe('broker > kafka > protocol > error-codes', () => {
  it('holds the codes of kafka.md §6 under the names of Errors.java', () => {
    expect(KafkaErrorCode).toMatchObject({
      NONE: 0,
      UNKNOWN_SERVER_ERROR: -1,
      OFFSET_OUT_OF_RANGE: 1,
      CORRUPT_MESSAGE: 2,
      UNKNOWN_TOPIC_OR_PARTITION: 3,
      LEADER_NOT_AVAILABLE: 5,
      NOT_LEADER_OR_FOLLOWER: 6,
      REQUEST_TIMED_OUT: 7,
      MESSAGE_TOO_LARGE: 10,
      COORDINATOR_LOAD_IN_PROGRESS: 14,
      COORDINATOR_NOT_AVAILABLE: 15,
      NOT_COORDINATOR: 16,
      INVALID_TOPIC_EXCEPTION: 17,
      INVALID_REQUIRED_ACKS: 21,
      ILLEGAL_GENERATION: 22,
      INCONSISTENT_GROUP_PROTOCOL: 23,
      UNKNOWN_MEMBER_ID: 25,
      INVALID_SESSION_TIMEOUT: 26,
      REBALANCE_IN_PROGRESS: 27,
      UNSUPPORTED_VERSION: 35,
      TOPIC_ALREADY_EXISTS: 36,
      INVALID_PARTITIONS: 37,
      INVALID_REPLICATION_FACTOR: 38,
      INVALID_REQUEST: 42,
      UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
      GROUP_ID_NOT_FOUND: 69,
      UNSUPPORTED_COMPRESSION_TYPE: 76,
      MEMBER_ID_REQUIRED: 79,
      INVALID_RECORD: 87,
    });
    expect(new Set(Object.values(KafkaErrorCode)).size).toBe(Object.keys(KafkaErrorCode).length);
  });

  it('names codes for logs and says which ones clients retry by themselves', () => {
    expect(kafkaErrorName(25)).toBe('UNKNOWN_MEMBER_ID');
    expect(kafkaErrorName(9999)).toBe('UNKNOWN(9999)');
    expect(isRetriableKafkaError(KafkaErrorCode.NOT_COORDINATOR)).toBe(true);
    expect(isRetriableKafkaError(KafkaErrorCode.OFFSET_OUT_OF_RANGE)).toBe(false);
    expect(isRetriableKafkaError(9999)).toBe(false);
  });
});
