import { InMemoryOffsetStore } from '../../../../../broker/kafka/group';
import type { CommittedOffset, OffsetStore } from '../../../../../broker/kafka/group';
import { newCoordinator } from './group-test-kit';

/** A store that outlived a restart: its groups are known to a new coordinator as Empty groups with offsets. */
class RestartedStore extends InMemoryOffsetStore implements OffsetStore {
  constructor(private readonly known: string[]) {
    super();
  }

  groupIds(): string[] {
    return [...this.known];
  }
}

describe('broker > kafka > group > groups known to the offset store', () => {
  it('lists and describes them as Empty from the start, and takes an outside commit for them', async () => {
    const store = new RestartedStore(['old-a', 'old-b', '']);
    const offset: CommittedOffset = { topic: 't', partition: 0, offset: 5n, metadata: '' };
    await store.commit('old-a', [offset]);
    const { coordinator } = newCoordinator({ offsetStore: store });
    expect((await coordinator.listGroups()).groups).toEqual([
      { groupId: 'old-a', protocolType: '' },
      { groupId: 'old-b', protocolType: '' },
    ]);
    expect((await coordinator.describeGroups({ groups: ['old-a'] })).groups[0]).toMatchObject({
      errorCode: 0,
      groupState: 'Empty',
      members: [],
    });
    expect(coordinator.groupSnapshot('old-b')).toMatchObject({ state: 'Empty', generationId: 0 });
    const fetched = await coordinator.offsetFetch({ groupId: 'old-a', topics: null });
    expect(fetched.topics).toEqual([
      { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, metadata: '', errorCode: 0 }] },
    ]);
    const committed = await coordinator.offsetCommit({
      groupId: 'old-b',
      generationId: -1,
      memberId: '',
      retentionTimeMs: -1n,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 1, committedOffset: 9n, committedMetadata: null }] },
      ],
    });
    expect(committed.topics[0]!.partitions[0]!.errorCode).toBe(0);
    coordinator.close();
  });

  it('knows nothing more with a store that does not keep groups across restarts', async () => {
    const { coordinator } = newCoordinator({ offsetStore: new InMemoryOffsetStore() });
    expect((await coordinator.listGroups()).groups).toEqual([]);
    coordinator.close();
  });
});
