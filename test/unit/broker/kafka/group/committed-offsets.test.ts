import { InMemoryOffsetStore } from '../../../../../broker/kafka/group';
import type { OffsetCommitRequest } from '../../../../../broker/kafka/group';
import { answered, flush, joinRequest, newCoordinator, track } from './group-test-kit';

/*
 * What the admin view reads of a group besides DescribeGroups: every committed offset with the time this
 * coordinator stored it (none for offsets a durable store brought from before the coordinator started), and the
 * snapshot of a group's members with their assignment bytes.
 */

function commit(groupId: string, offset: bigint, partitionIndex = 0): OffsetCommitRequest {
  return {
    groupId,
    generationId: -1,
    memberId: '',
    retentionTimeMs: -1n,
    topics: [
      { name: 't', partitions: [{ partitionIndex, committedOffset: offset, committedMetadata: 'm' }] },
    ],
  };
}

describe('broker > kafka > group > committed offsets for admin', () => {
  it('shows each partition with the time of its latest commit', async () => {
    let nowMs = 1_000;
    const { coordinator } = newCoordinator({ now: () => nowMs });
    await coordinator.offsetCommit(commit('g', 5n, 0));
    nowMs = 2_000;
    await coordinator.offsetCommit(commit('g', 7n, 1));
    nowMs = 3_000;
    await coordinator.offsetCommit(commit('g', 9n, 0));
    const offsets = await coordinator.committedOffsets('g');
    expect(offsets.sort((a, b) => a.partition - b.partition)).toEqual([
      { topic: 't', partition: 0, offset: 9n, metadata: 'm', commitTimestampMs: 3_000 },
      { topic: 't', partition: 1, offset: 7n, metadata: 'm', commitTimestampMs: 2_000 },
    ]);
    expect(await coordinator.committedOffsets('unknown')).toEqual([]);
  });

  it('has no commit time for offsets stored before the coordinator started, and nothing once closed', async () => {
    const store = new InMemoryOffsetStore();
    await store.commit('old', [{ topic: 't', partition: 0, offset: 4n, metadata: '' }]);
    const { coordinator } = newCoordinator({ offsetStore: store, now: () => 42 });
    expect(await coordinator.committedOffsets('old')).toEqual([
      { topic: 't', partition: 0, offset: 4n, metadata: '', commitTimestampMs: null },
    ]);
    coordinator.close();
    expect(await coordinator.committedOffsets('old')).toEqual([]);
  });

  it('a refused commit records no time', async () => {
    const { coordinator } = newCoordinator({ now: () => 42 });
    // An unknown group with a generation is ILLEGAL_GENERATION: nothing stored.
    await coordinator.offsetCommit({ ...commit('g', 5n), generationId: 3, memberId: 'm' });
    expect(await coordinator.committedOffsets('g')).toEqual([]);
  });

  it("the snapshot carries each member's assignment bytes once the leader synced", async () => {
    const { coordinator, scheduler } = newCoordinator();
    const join = track(coordinator.joinGroup(joinRequest()));
    scheduler.advance(3000);
    await flush();
    const { memberId, generationId } = answered(join);
    const bytes = Buffer.from('assigned');
    await coordinator.syncGroup({
      groupId: 'g',
      generationId,
      memberId,
      assignments: [{ memberId, assignment: bytes }],
    });
    expect(coordinator.groupSnapshot('g')).toMatchObject({
      state: 'Stable',
      protocolType: 'consumer',
      protocolName: 'range',
      members: [{ memberId, clientId: 'kafkajs', clientHost: '/127.0.0.1', assignment: bytes }],
    });
  });
});
