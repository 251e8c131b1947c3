/**
 * Where a group's committed offsets live. The coordinator answers an OffsetCommit only once `commit` has resolved,
 * so a durable implementation (a managed ledger per group) resolves only when the offsets are stored; it rejects
 * when they could not be, and the coordinator turns that into an error code for each partition of the request
 * (COORDINATOR_NOT_AVAILABLE when the error is `retriable`, which clients retry, UNKNOWN_SERVER_ERROR otherwise).
 * `fetch` rejecting likewise becomes an error code. This file holds the interface and the in-memory store.
 */

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  /** The client's metadata string ('' when it sent null). */
  metadata: string;
}

export interface OffsetStore {
  /**
   * Stores the offsets of one OffsetCommit, all or none. Commits of one group resolve in the order they were
   * made, and a later commit of a partition replaces the earlier one.
   */
  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  /**
   * The latest committed offsets of the group for these topics (every partition committed), or of every topic
   * when `topics` is null. Partitions never committed are simply absent.
   */
  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]>;
  /**
   * The groups that have committed offsets, when the store outlives the process (a durable store, read at open):
   * the coordinator knows them from the start as Empty groups, as Kafka's coordinator loads its groups from
   * `__consumer_offsets`, so ListGroups and DescribeGroups show them after a restart.
   */
  groupIds?(): string[];
}

/** Committed offsets by groupId → topic → partition (both stores keep them so). */
export type OffsetMap = Map<string, Map<string, Map<number, CommittedOffset>>>;

/** Records a commit in the map: each partition's offset replaces the one before (the objects are kept as given). */
export function applyOffsets(map: OffsetMap, groupId: string, offsets: readonly CommittedOffset[]): void {
  let topics = map.get(groupId);
  if (topics === undefined) map.set(groupId, (topics = new Map()));
  for (const committed of offsets) {
    let partitions = topics.get(committed.topic);
    if (partitions === undefined) topics.set(committed.topic, (partitions = new Map()));
    partitions.set(committed.partition, committed);
  }
}

/** Copies of the group's offsets for `topics` (null: every topic), as `OffsetStore.fetch` answers. */
export function readOffsets(
  map: OffsetMap,
  groupId: string,
  topics: readonly string[] | null,
): CommittedOffset[] {
  const stored = map.get(groupId);
  const found: CommittedOffset[] = [];
  if (stored !== undefined) {
    for (const topic of topics ?? stored.keys()) {
      for (const committed of stored.get(topic)?.values() ?? []) found.push({ ...committed });
    }
  }
  return found;
}

/** Offsets in a map: lost with the process. For tests and for a broker that does not need them to survive. */
export class InMemoryOffsetStore implements OffsetStore {
  private readonly groups: OffsetMap = new Map();

  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    applyOffsets(
      this.groups,
      groupId,
      offsets.map((o) => ({ ...o })),
    );
    return Promise.resolve();
  }

  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    return Promise.resolve(readOffsets(this.groups, groupId, topics));
  }
}
