import { LedgerlineError } from '../../../../../common';
import { GroupErrorCode, InMemoryOffsetStore } from '../../../../../broker/kafka/group';
import type {
  CommittedOffset,
  GroupCoordinator,
  OffsetCommitRequest,
  OffsetStore,
} from '../../../../../broker/kafka/group';
import { answered, flush, joinRequest, newCoordinator, track } from './group-test-kit';
import type { ManualScheduler } from './group-test-kit';

function commitRequest(overrides: Partial<OffsetCommitRequest> = {}): OffsetCommitRequest {
  return {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    retentionTimeMs: -1n,
    topics: [
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, committedOffset: 10n, committedMetadata: 'm0' },
          { partitionIndex: 1, committedOffset: 20n, committedMetadata: null },
        ],
      },
    ],
    ...overrides,
  };
}

/** The error code of each partition of a commit, in request order. */
async function commitCodes(
  coordinator: GroupCoordinator,
  overrides: Partial<OffsetCommitRequest>,
): Promise<number[]> {
  const response = await coordinator.offsetCommit(commitRequest(overrides));
  return response.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

async function fetchT(coordinator: GroupCoordinator): Promise<Array<[bigint, string | null, number]>> {
  const response = await coordinator.offsetFetch({
    groupId: 'g',
    topics: [{ name: 't', partitionIndexes: [0, 1, 2] }],
  });
  return (response.topics[0]?.partitions ?? []).map((p) => [p.committedOffset, p.metadata, p.errorCode]);
}

/** One member joined; the group is CompletingRebalance in generation 1. */
async function oneMember(coordinator: GroupCoordinator, scheduler: ManualScheduler): Promise<string> {
  const join = track(coordinator.joinGroup(joinRequest()));
  scheduler.advance(3000);
  await flush();
  return answered(join).memberId;
}

/** A store whose commits and fetches wait until the test lets them finish. */
class GatedStore implements OffsetStore {
  readonly inner = new InMemoryOffsetStore();
  private readonly gates: Array<() => void> = [];
  failWith: unknown;

  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    return new Promise<void>((resolve) => this.gates.push(resolve)).then(() => {
      if (this.failWith !== undefined) throw this.failWith;
      return this.inner.commit(groupId, offsets);
    });
  }

  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith as Error);
    return this.inner.fetch(groupId, topics);
  }

  open(): void {
    for (const gate of this.gates.splice(0)) gate();
  }
}

describe('broker > kafka > group > offsets', () => {
  it('fetches -1, "" and error 0 for partitions never committed, in any group', async () => {
    const { coordinator } = newCoordinator();
    expect(await fetchT(coordinator)).toEqual([
      [-1n, '', 0],
      [-1n, '', 0],
      [-1n, '', 0],
    ]);
    const all = await coordinator.offsetFetch({ groupId: 'g', topics: null });
    expect(all).toEqual({ throttleTimeMs: 0, topics: [], errorCode: 0 });
  });

  it('takes a commit from outside group management (generation -1, no member) for an unknown or Empty group', async () => {
    const { coordinator } = newCoordinator();
    expect(await commitCodes(coordinator, {})).toEqual([0, 0]);
    expect(await fetchT(coordinator)).toEqual([
      [10n, 'm0', 0],
      [20n, '', 0],
      [-1n, '', 0],
    ]);
    // The group is kept (Empty, no protocol type) for its offsets, and listed.
    expect(coordinator.groupSnapshot('g')?.state).toBe('Empty');
    expect((await coordinator.listGroups()).groups).toEqual([{ groupId: 'g', protocolType: '' }]);
    expect(
      await commitCodes(coordinator, {
        topics: [
          { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 11n, committedMetadata: 'x' }] },
        ],
      }),
    ).toEqual([0]);
    expect((await fetchT(coordinator))[0]).toEqual([11n, 'x', 0]);
  });

  it('refuses a commit with generation >= 0 for a group it does not know with 22', async () => {
    const { coordinator } = newCoordinator();
    expect(await commitCodes(coordinator, { generationId: 3, memberId: 'm' })).toEqual([22, 22]);
    expect(await fetchT(coordinator)).toEqual([
      [-1n, '', 0],
      [-1n, '', 0],
      [-1n, '', 0],
    ]);
  });

  it('checks member and generation in each state: 27 while CompletingRebalance, accepted while Preparing and Stable', async () => {
    const { coordinator, scheduler } = newCoordinator();
    const memberId = await oneMember(coordinator, scheduler);
    // CompletingRebalance
    expect(await commitCodes(coordinator, { generationId: 1, memberId })).toEqual([27, 27]);
    expect(await commitCodes(coordinator, {})).toEqual([27, 27]);
    await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId, assignments: [] });
    // Stable
    expect(await commitCodes(coordinator, { generationId: 1, memberId })).toEqual([0, 0]);
    expect(await commitCodes(coordinator, { generationId: 0, memberId })).toEqual([22, 22]);
    expect(await commitCodes(coordinator, { generationId: 1, memberId: 'ghost' })).toEqual([25, 25]);
    expect(await commitCodes(coordinator, {})).toEqual([25, 25]);
    // PreparingRebalance: a member of the current generation may still commit before it rejoins.
    void coordinator.joinGroup(joinRequest());
    expect(coordinator.groupSnapshot('g')?.state).toBe('PreparingRebalance');
    expect(await commitCodes(coordinator, { generationId: 1, memberId })).toEqual([0, 0]);
    expect(await fetchT(coordinator)).toEqual([
      [10n, 'm0', 0],
      [20n, '', 0],
      [-1n, '', 0],
    ]);
  });

  it('takes outside commits again once the last member has left', async () => {
    const { coordinator, scheduler } = newCoordinator();
    const memberId = await oneMember(coordinator, scheduler);
    await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId, assignments: [] });
    expect(await commitCodes(coordinator, { generationId: 1, memberId })).toEqual([0, 0]);
    await coordinator.leaveGroup({ groupId: 'g', memberId });
    expect(coordinator.groupSnapshot('g')).toMatchObject({ state: 'Empty', generationId: 2, members: [] });
    expect(await commitCodes(coordinator, {})).toEqual([0, 0]);
    expect((await coordinator.listGroups()).groups).toEqual([{ groupId: 'g', protocolType: 'consumer' }]);
  });

  it('a commit renews the committing member session', async () => {
    const { coordinator, scheduler } = newCoordinator();
    const memberId = await oneMember(coordinator, scheduler);
    await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId, assignments: [] });
    for (let i = 0; i < 5; i++) {
      scheduler.advance(6000);
      expect(await commitCodes(coordinator, { generationId: 1, memberId })).toEqual([0, 0]);
    }
    expect(coordinator.groupSnapshot('g')?.state).toBe('Stable');
  });

  it('fetches every committed offset of the group when topics is null', async () => {
    const { coordinator } = newCoordinator();
    await commitCodes(coordinator, {
      topics: [
        { name: 'a', partitions: [{ partitionIndex: 2, committedOffset: 5n, committedMetadata: null }] },
        { name: 'b', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedMetadata: 'b' }] },
      ],
    });
    expect(await coordinator.offsetFetch({ groupId: 'g', topics: null })).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        { name: 'a', partitions: [{ partitionIndex: 2, committedOffset: 5n, metadata: '', errorCode: 0 }] },
        { name: 'b', partitions: [{ partitionIndex: 0, committedOffset: 7n, metadata: 'b', errorCode: 0 }] },
      ],
    });
    expect((await coordinator.offsetFetch({ groupId: 'other', topics: null })).topics).toEqual([]);
  });

  it('refuses metadata over offsetMetadataMaxBytes with 12 and commits the other partitions', async () => {
    const { coordinator } = newCoordinator({ config: { offsetMetadataMaxBytes: 4 } });
    const codes = await commitCodes(coordinator, {
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 1n, committedMetadata: 'éé' },
            { partitionIndex: 1, committedOffset: 2n, committedMetadata: 'ééé' },
          ],
        },
      ],
    });
    expect(codes).toEqual([0, GroupErrorCode.OFFSET_METADATA_TOO_LARGE]);
    expect(await fetchT(coordinator)).toEqual([
      [1n, 'éé', 0],
      [-1n, '', 0],
      [-1n, '', 0],
    ]);
  });

  it('answers a commit only when the store has stored it', async () => {
    const store = new GatedStore();
    const { coordinator } = newCoordinator({ offsetStore: store });
    const commit = track(coordinator.offsetCommit(commitRequest()));
    await flush();
    expect(commit.done).toBe(false);
    store.open();
    await flush();
    expect(answered(commit).topics[0]?.partitions.map((p) => p.errorCode)).toEqual([0, 0]);
  });

  it('turns a failed store into error codes: 15 when retriable, -1 otherwise, never a throw', async () => {
    const store = new GatedStore();
    const { coordinator } = newCoordinator({ offsetStore: store });
    store.failWith = new LedgerlineError('BookieDown', 'no bookies', { retriable: true });
    const retriable = track(coordinator.offsetCommit(commitRequest()));
    store.open();
    await flush();
    expect(answered(retriable).topics[0]?.partitions.map((p) => p.errorCode)).toEqual([15, 15]);
    expect(await fetchT(coordinator)).toEqual([
      [-1n, '', 15],
      [-1n, '', 15],
      [-1n, '', 15],
    ]);
    expect(await coordinator.offsetFetch({ groupId: 'g', topics: null })).toEqual({
      throttleTimeMs: 0,
      topics: [],
      errorCode: 15,
    });
    store.failWith = new Error('disk on fire');
    const fatal = track(coordinator.offsetCommit(commitRequest()));
    store.open();
    await flush();
    expect(answered(fatal).topics[0]?.partitions.map((p) => p.errorCode)).toEqual([-1, -1]);
  });

  it('commits nothing and asks no store for an empty topic list', async () => {
    const { coordinator } = newCoordinator();
    expect(await coordinator.offsetCommit(commitRequest({ topics: [] }))).toEqual({
      throttleTimeMs: 0,
      topics: [],
    });
    expect(coordinator.groupSnapshot('g')).toBeUndefined();
  });
});
