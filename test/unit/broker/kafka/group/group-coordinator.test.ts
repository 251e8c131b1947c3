import { GroupErrorCode } from '../../../../../broker/kafka/group';
import type {
  GroupCoordinator,
  JoinGroupResponse,
  SyncGroupAssignment,
  SyncGroupResponse,
} from '../../../../../broker/kafka/group';
import {
  REBALANCE_MS,
  SESSION_MS,
  answered,
  flush,
  joinRequest,
  newCoordinator,
  track,
} from './group-test-kit';
import type { ManualScheduler } from './group-test-kit';

const INITIAL_DELAY_MS = 3000;

/** Two members join an empty group and wait out the initial delay (extended once for the second member). */
async function twoMembersJoin(
  coordinator: GroupCoordinator,
  scheduler: ManualScheduler,
): Promise<{ leader: JoinGroupResponse; follower: JoinGroupResponse }> {
  const first = track(coordinator.joinGroup(joinRequest({ clientId: 'a' })));
  const second = track(coordinator.joinGroup(joinRequest({ clientId: 'b' })));
  scheduler.advance(2 * INITIAL_DELAY_MS);
  await flush();
  return { leader: answered(first), follower: answered(second) };
}

/** Two members join, the leader assigns: a Stable group in generation 1. */
async function stableGroup(
  coordinator: GroupCoordinator,
  scheduler: ManualScheduler,
): Promise<{ leaderId: string; followerId: string }> {
  const { leader, follower } = await twoMembersJoin(coordinator, scheduler);
  const assignments = [
    { memberId: leader.memberId, assignment: Buffer.from('p0') },
    { memberId: follower.memberId, assignment: Buffer.from('p1') },
  ];
  await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: leader.memberId, assignments });
  await sync(coordinator, follower.memberId, 1);
  expect(coordinator.groupSnapshot('g')?.state).toBe('Stable');
  return { leaderId: leader.memberId, followerId: follower.memberId };
}

function sync(
  coordinator: GroupCoordinator,
  memberId: string,
  generationId: number,
  assignments: SyncGroupAssignment[] = [],
): Promise<SyncGroupResponse> {
  return coordinator.syncGroup({ groupId: 'g', generationId, memberId, assignments });
}

function heartbeat(coordinator: GroupCoordinator, memberId: string, generationId: number): Promise<number> {
  return coordinator.heartbeat({ groupId: 'g', generationId, memberId }).then((r) => r.errorCode);
}

describe('broker > kafka > group > coordinator', () => {
  describe('join and sync', () => {
    it('forms generation 1 from two members after the initial delay, extended for the second one', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const first = track(coordinator.joinGroup(joinRequest({ clientId: 'a' })));
      const second = track(coordinator.joinGroup(joinRequest({ clientId: 'b' })));
      expect(coordinator.groupSnapshot('g')?.state).toBe('PreparingRebalance');
      scheduler.advance(INITIAL_DELAY_MS);
      await flush();
      expect(first.done || second.done).toBe(false);
      scheduler.advance(INITIAL_DELAY_MS);
      await flush();
      const leader = answered(first);
      const follower = answered(second);
      expect(leader.memberId).toMatch(/^a-[0-9a-f-]{36}$/);
      expect(follower.memberId).toMatch(/^b-[0-9a-f-]{36}$/);
      for (const response of [leader, follower]) {
        expect(response).toMatchObject({
          errorCode: 0,
          generationId: 1,
          protocolName: 'range',
          leader: leader.memberId,
        });
      }
      expect(leader.members.map((m) => m.memberId)).toEqual([leader.memberId, follower.memberId]);
      expect(leader.members[0]?.metadata.toString()).toBe('subscription');
      expect(follower.members).toEqual([]);
      expect(coordinator.groupSnapshot('g')?.state).toBe('CompletingRebalance');
    });

    it('parks a follower that syncs before the leader and answers both with their own assignment', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leader, follower } = await twoMembersJoin(coordinator, scheduler);
      const followerSync = track(sync(coordinator, follower.memberId, 1));
      await flush();
      expect(followerSync.done).toBe(false);
      const leaderSync = await sync(coordinator, leader.memberId, 1, [
        { memberId: leader.memberId, assignment: Buffer.from('p0') },
        { memberId: follower.memberId, assignment: Buffer.from('p1') },
      ]);
      await flush();
      expect(leaderSync).toMatchObject({ errorCode: 0, assignment: Buffer.from('p0') });
      expect(answered(followerSync)).toMatchObject({ errorCode: 0, assignment: Buffer.from('p1') });
      expect(coordinator.groupSnapshot('g')?.state).toBe('Stable');
      // Stable: a repeated SyncGroup gets the stored assignment at once.
      const again = await sync(coordinator, follower.memberId, 1);
      expect(again.assignment.toString()).toBe('p1');
    });

    it('gives a member the leader left out an empty assignment', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leader, follower } = await twoMembersJoin(coordinator, scheduler);
      const followerSync = track(sync(coordinator, follower.memberId, 1));
      await sync(coordinator, leader.memberId, 1, [
        { memberId: leader.memberId, assignment: Buffer.from('all') },
      ]);
      await flush();
      expect(answered(followerSync)).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
        assignment: Buffer.alloc(0),
      });
    });

    it('answers heartbeats with 0 while Stable and CompletingRebalance', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leader } = await twoMembersJoin(coordinator, scheduler);
      expect(coordinator.groupSnapshot('g')?.state).toBe('CompletingRebalance');
      expect(await heartbeat(coordinator, leader.memberId, 1)).toBe(0);
      const stable = newCoordinator();
      const { leaderId, followerId } = await stableGroup(stable.coordinator, stable.scheduler);
      // Heartbeats keep both sessions alive well past the 10 s session timeout.
      for (let i = 0; i < 10; i++) {
        stable.scheduler.advance(3000);
        expect(await heartbeat(stable.coordinator, leaderId, 1)).toBe(0);
        expect(await heartbeat(stable.coordinator, followerId, 1)).toBe(0);
      }
      expect(stable.coordinator.groupSnapshot('g')?.state).toBe('Stable');
    });

    it('chooses the protocol by vote among the protocols every member supports', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const protocol = (name: string): { name: string; metadata: Buffer } => ({
        name,
        metadata: Buffer.from(name),
      });
      const joins = [
        ['range', 'roundrobin', 'sticky'],
        ['roundrobin', 'range'],
        ['roundrobin', 'range', 'sticky'],
      ].map((names) => track(coordinator.joinGroup(joinRequest({ protocols: names.map(protocol) }))));
      scheduler.advance(3 * INITIAL_DELAY_MS);
      await flush();
      const [leader] = joins.map(answered);
      expect(leader?.protocolName).toBe('roundrobin');
      expect(leader?.members.map((m) => m.metadata.toString())).toEqual([
        'roundrobin',
        'roundrobin',
        'roundrobin',
      ]);
    });

    it('waits up to the rebalance timeout, not longer, while members keep arriving during the initial delay', async () => {
      const { coordinator, scheduler } = newCoordinator();
      // Delays of 3000, 3000 and then the 1000 left of the 7000 ms rebalance timeout.
      const joins = [track(coordinator.joinGroup(joinRequest({ rebalanceTimeoutMs: 7000 })))];
      for (let i = 0; i < 3; i++) {
        scheduler.advance(2000);
        joins.push(track(coordinator.joinGroup(joinRequest({ rebalanceTimeoutMs: 7000 }))));
      }
      scheduler.advance(999);
      await flush();
      expect(joins.some((j) => j.done)).toBe(false);
      scheduler.advance(1);
      await flush();
      expect(joins.every((j) => answered(j).generationId === 1)).toBe(true);
    });

    it('completes at once when the initial delay is 0 and the second member forces generation 2', async () => {
      const { coordinator, scheduler } = newCoordinator({ config: { groupInitialRebalanceDelayMs: 0 } });
      const first = track(coordinator.joinGroup(joinRequest()));
      scheduler.advance(0);
      await flush();
      expect(answered(first).generationId).toBe(1);
      const second = track(coordinator.joinGroup(joinRequest()));
      const rejoin = track(coordinator.joinGroup(joinRequest({ memberId: answered(first).memberId })));
      await flush();
      expect(answered(second).generationId).toBe(2);
      expect(answered(rejoin)).toMatchObject({ generationId: 2, leader: answered(first).memberId });
    });

    it('uses the session timeout as the rebalance timeout of JoinGroup v0', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      // As kafkajs-style objects leave it out and our codec decodes it: absent or -1.
      const v0 = { sessionTimeoutMs: 7000, rebalanceTimeoutMs: -1 };
      const newcomer = track(coordinator.joinGroup(joinRequest(v0)));
      const leaderRejoin = track(coordinator.joinGroup(joinRequest({ ...v0, memberId: leaderId })));
      const followerRejoin = track(coordinator.joinGroup(joinRequest({ ...v0, memberId: followerId })));
      await flush();
      // All three rejoined: no timeout needed.
      expect([newcomer, leaderRejoin, followerRejoin].every((j) => answered(j).generationId === 2)).toBe(
        true,
      );
      expect(coordinator.groupSnapshot('g')?.members.length).toBe(3);
      await sync(coordinator, leaderId, 2);
      // Next rebalance with v0 members only: the rebalance timeout is 7000 ms.
      const again = track(coordinator.joinGroup(joinRequest({ ...v0, memberId: leaderId })));
      scheduler.advance(6999);
      await flush();
      expect(again.done).toBe(false);
      scheduler.advance(1);
      await flush();
      expect(answered(again)).toMatchObject({ generationId: 3, leader: leaderId, errorCode: 0 });
      expect(coordinator.groupSnapshot('g')?.members.map((m) => m.memberId)).toEqual([leaderId]);
    });

    it('answers a member that asks again during CompletingRebalance with the same generation at once', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leader } = await twoMembersJoin(coordinator, scheduler);
      const again = await coordinator.joinGroup(joinRequest({ clientId: 'a', memberId: leader.memberId }));
      expect(again).toEqual(leader);
      expect(coordinator.groupSnapshot('g')?.state).toBe('CompletingRebalance');
    });

    it('answers a Stable follower rejoining unchanged with the current generation, but rebalances for the leader', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const follower = await coordinator.joinGroup(joinRequest({ memberId: followerId }));
      expect(follower).toMatchObject({ errorCode: 0, generationId: 1, leader: leaderId, members: [] });
      expect(coordinator.groupSnapshot('g')?.state).toBe('Stable');
      const leader = track(coordinator.joinGroup(joinRequest({ memberId: leaderId })));
      expect(coordinator.groupSnapshot('g')?.state).toBe('PreparingRebalance');
      expect(await heartbeat(coordinator, followerId, 1)).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      await coordinator.joinGroup(joinRequest({ memberId: followerId }));
      expect(answered(leader)).toMatchObject({ generationId: 2, leader: leaderId });
    });

    it('tells a parked JoinGroup replaced by a second one with the same member id to rejoin', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const first = track(coordinator.joinGroup(joinRequest({ memberId: leaderId })));
      const second = track(coordinator.joinGroup(joinRequest({ memberId: leaderId })));
      await flush();
      expect(answered(first).errorCode).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      expect(second.done).toBe(false);
      await coordinator.joinGroup(joinRequest({ memberId: followerId }));
      await flush();
      expect(answered(second).generationId).toBe(2);
    });
  });

  describe('rebalances', () => {
    it('rebalances when a third member joins: the others learn from heartbeats and rejoin', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const third = track(coordinator.joinGroup(joinRequest({ clientId: 'c' })));
      expect(coordinator.groupSnapshot('g')?.state).toBe('PreparingRebalance');
      expect(await heartbeat(coordinator, leaderId, 1)).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      expect(await heartbeat(coordinator, followerId, 1)).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      const leader = track(coordinator.joinGroup(joinRequest({ memberId: leaderId })));
      await flush();
      expect(leader.done).toBe(false);
      const follower = track(coordinator.joinGroup(joinRequest({ memberId: followerId })));
      await flush();
      // Everyone rejoined: no waiting for the rebalance timeout.
      for (const join of [leader, follower, third]) {
        expect(answered(join)).toMatchObject({ errorCode: 0, generationId: 2, leader: leaderId });
      }
      expect(answered(leader).members).toHaveLength(3);
      expect(answered(third).members).toEqual([]);
      expect(await heartbeat(coordinator, leaderId, 1)).toBe(GroupErrorCode.ILLEGAL_GENERATION);
    });

    it('removes a member that does not rejoin within the rebalance timeout', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const leader = track(coordinator.joinGroup(joinRequest({ memberId: followerId, protocols: [] })));
      await flush();
      expect(answered(leader).errorCode).toBe(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      const rejoin = track(coordinator.joinGroup(joinRequest({ memberId: leaderId })));
      // The follower keeps its session alive with heartbeats but never rejoins.
      for (let t = 0; t < REBALANCE_MS; t += 3000) {
        scheduler.advance(3000);
        if (t + 3000 < REBALANCE_MS) expect(await heartbeat(coordinator, followerId, 1)).toBe(27);
      }
      await flush();
      expect(answered(rejoin)).toMatchObject({ errorCode: 0, generationId: 2, leader: leaderId });
      expect(coordinator.groupSnapshot('g')?.members.map((m) => m.memberId)).toEqual([leaderId]);
      expect(await heartbeat(coordinator, followerId, 2)).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
    });

    it('expires a member that stops heartbeating and rebalances the rest', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      for (let i = 0; i < 3; i++) {
        scheduler.advance(3000);
        expect(await heartbeat(coordinator, followerId, 1)).toBe(0);
      }
      scheduler.advance(SESSION_MS - 9000);
      // The leader has been silent for its whole 10 s session: it expired. The follower becomes the leader.
      expect(coordinator.groupSnapshot('g')?.state).toBe('PreparingRebalance');
      expect(coordinator.groupSnapshot('g')?.leaderId).toBe(followerId);
      expect(await heartbeat(coordinator, leaderId, 1)).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
      expect(await heartbeat(coordinator, followerId, 1)).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      const rejoin = await coordinator.joinGroup(joinRequest({ memberId: followerId }));
      expect(rejoin).toMatchObject({ errorCode: 0, generationId: 2, leader: followerId });
      expect(rejoin.members.map((m) => m.memberId)).toEqual([followerId]);
    });

    it('expires a dead member while the group waits for it to rejoin (its rebalance timeout is far longer)', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const slow = { rebalanceTimeoutMs: 300000, sessionTimeoutMs: 6000 };
      const joins = [
        track(coordinator.joinGroup(joinRequest(slow))),
        track(coordinator.joinGroup(joinRequest(slow))),
      ];
      scheduler.advance(2 * INITIAL_DELAY_MS);
      await flush();
      const [leader, follower] = joins.map(answered);
      if (leader === undefined || follower === undefined) throw new Error('two members expected');
      await sync(coordinator, leader.memberId, 1);
      const rejoin = track(coordinator.joinGroup(joinRequest({ ...slow, memberId: leader.memberId })));
      scheduler.advance(6000);
      await flush();
      expect(answered(rejoin)).toMatchObject({ generationId: 2, members: [{ memberId: leader.memberId }] });
    });

    it('rebalances when a member leaves; the last to leave empties the group', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      expect((await coordinator.leaveGroup({ groupId: 'g', memberId: leaderId })).errorCode).toBe(0);
      expect(coordinator.groupSnapshot('g')).toMatchObject({
        state: 'PreparingRebalance',
        leaderId: followerId,
      });
      expect((await coordinator.leaveGroup({ groupId: 'g', memberId: leaderId })).errorCode).toBe(25);
      const rejoin = await coordinator.joinGroup(joinRequest({ memberId: followerId }));
      expect(rejoin).toMatchObject({ generationId: 2, leader: followerId });
      await coordinator.leaveGroup({ groupId: 'g', memberId: followerId });
      // Kept, Empty, with its generation (as Kafka keeps a group's metadata).
      expect(coordinator.groupSnapshot('g')).toMatchObject({
        state: 'Empty',
        generationId: 3,
        leaderId: null,
      });
      expect((await coordinator.listGroups()).groups).toEqual([{ groupId: 'g', protocolType: 'consumer' }]);
    });

    it('answers a parked JoinGroup of a member removed meanwhile with UNKNOWN_MEMBER_ID', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const rejoin = track(coordinator.joinGroup(joinRequest({ memberId: leaderId })));
      await coordinator.leaveGroup({ groupId: 'g', memberId: leaderId });
      await flush();
      expect(answered(rejoin).errorCode).toBe(GroupErrorCode.UNKNOWN_MEMBER_ID);
      expect(coordinator.groupSnapshot('g')?.leaderId).toBe(followerId);
    });

    it('tells parked followers to rejoin when a rebalance starts before the leader syncs', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { follower } = await twoMembersJoin(coordinator, scheduler);
      const parkedSync = track(sync(coordinator, follower.memberId, 1));
      const newcomer = track(coordinator.joinGroup(joinRequest()));
      await flush();
      expect(answered(parkedSync).errorCode).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      expect(newcomer.done).toBe(false);
      const late = await sync(coordinator, follower.memberId, 1);
      expect(late.errorCode).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
    });

    it('removes a leader that never sends SyncGroup once the rebalance timeout passes', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leader, follower } = await twoMembersJoin(coordinator, scheduler);
      const parkedSync = track(sync(coordinator, follower.memberId, 1));
      for (let t = 0; t < REBALANCE_MS; t += 3000) {
        scheduler.advance(3000);
        // The leader heartbeats (its session stays alive) but never syncs.
        if (t + 3000 < REBALANCE_MS) expect(await heartbeat(coordinator, leader.memberId, 1)).toBe(0);
      }
      await flush();
      expect(answered(parkedSync).errorCode).toBe(GroupErrorCode.REBALANCE_IN_PROGRESS);
      expect(coordinator.groupSnapshot('g')).toMatchObject({
        state: 'PreparingRebalance',
        leaderId: follower.memberId,
        members: [{ memberId: follower.memberId }],
      });
    });
  });

  describe('refusals', () => {
    it('refuses session timeouts outside the configured bounds with 26', async () => {
      const { coordinator } = newCoordinator({ config: { groupMaxSessionTimeoutMs: 60000 } });
      for (const sessionTimeoutMs of [5999, 60001, -1]) {
        const response = await coordinator.joinGroup(joinRequest({ sessionTimeoutMs }));
        expect(response).toEqual({
          throttleTimeMs: 0,
          errorCode: GroupErrorCode.INVALID_SESSION_TIMEOUT,
          generationId: -1,
          protocolName: '',
          leader: '',
          memberId: '',
          members: [],
        });
      }
      expect(coordinator.groupIds()).toEqual([]);
    });

    it('refuses a different protocol type or no shared protocol with 23, an empty type or list too', async () => {
      const { coordinator } = newCoordinator();
      expect((await coordinator.joinGroup(joinRequest({ protocolType: '' }))).errorCode).toBe(23);
      expect((await coordinator.joinGroup(joinRequest({ protocols: [] }))).errorCode).toBe(23);
      void coordinator.joinGroup(joinRequest());
      expect((await coordinator.joinGroup(joinRequest({ protocolType: 'connect' }))).errorCode).toBe(23);
      const kafkajs = [{ name: 'RoundRobinAssigner', metadata: Buffer.alloc(0) }];
      expect((await coordinator.joinGroup(joinRequest({ protocols: kafkajs }))).errorCode).toBe(23);
    });

    it('refuses unknown members with 25 and an empty group id with 24', async () => {
      const { coordinator, scheduler } = newCoordinator();
      expect((await coordinator.joinGroup(joinRequest({ memberId: 'ghost' }))).errorCode).toBe(25);
      await stableGroup(coordinator, scheduler);
      expect((await coordinator.joinGroup(joinRequest({ memberId: 'ghost' }))).errorCode).toBe(25);
      expect(await heartbeat(coordinator, 'ghost', 1)).toBe(25);
      const parkedSync = await sync(coordinator, 'ghost', 1);
      expect(parkedSync.errorCode).toBe(25);
      expect((await coordinator.leaveGroup({ groupId: 'g', memberId: 'ghost' })).errorCode).toBe(25);
      expect(
        (await coordinator.heartbeat({ groupId: 'other', generationId: 1, memberId: 'x' })).errorCode,
      ).toBe(25);
      expect((await coordinator.joinGroup(joinRequest({ groupId: '' }))).errorCode).toBe(24);
      expect((await coordinator.heartbeat({ groupId: '', generationId: 1, memberId: 'x' })).errorCode).toBe(
        24,
      );
    });

    it('refuses stale and future generations with 22', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId } = await stableGroup(coordinator, scheduler);
      expect(await heartbeat(coordinator, leaderId, 0)).toBe(22);
      expect(await heartbeat(coordinator, leaderId, 2)).toBe(22);
      const parkedSync = await sync(coordinator, leaderId, 0);
      expect(parkedSync.errorCode).toBe(22);
    });

    it('lets the only member change the group protocol type, but not one of two', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const connect = {
        protocolType: 'connect',
        protocols: [{ name: 'default', metadata: Buffer.alloc(0) }],
      };
      expect((await coordinator.joinGroup(joinRequest({ ...connect, memberId: leaderId }))).errorCode).toBe(
        23,
      );
      await coordinator.leaveGroup({ groupId: 'g', memberId: followerId });
      const rejoin = await coordinator.joinGroup(joinRequest({ ...connect, memberId: leaderId }));
      expect(rejoin).toMatchObject({ errorCode: 0, generationId: 2, protocolName: 'default' });
      expect(coordinator.groupSnapshot('g')?.protocolType).toBe('connect');
    });

    it('refuses a new member past groupMaxSize with 81', async () => {
      const { coordinator } = newCoordinator({ config: { groupMaxSize: 2 } });
      void coordinator.joinGroup(joinRequest());
      void coordinator.joinGroup(joinRequest());
      expect((await coordinator.joinGroup(joinRequest())).errorCode).toBe(
        GroupErrorCode.GROUP_MAX_SIZE_REACHED,
      );
    });
  });

  describe('describe, list, close', () => {
    it('describes a Stable group with metadata and assignments, an unknown one as Dead', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { leaderId, followerId } = await stableGroup(coordinator, scheduler);
      const described = await coordinator.describeGroups({ groups: ['g', 'nope'] });
      expect(described.groups).toEqual([
        {
          errorCode: 0,
          groupId: 'g',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'range',
          members: [
            {
              memberId: leaderId,
              clientId: 'a',
              clientHost: '/127.0.0.1',
              memberMetadata: Buffer.from('subscription'),
              memberAssignment: Buffer.from('p0'),
            },
            {
              memberId: followerId,
              clientId: 'b',
              clientHost: '/127.0.0.1',
              memberMetadata: Buffer.from('subscription'),
              memberAssignment: Buffer.from('p1'),
            },
          ],
        },
        {
          errorCode: 0,
          groupId: 'nope',
          groupState: 'Dead',
          protocolType: '',
          protocolData: '',
          members: [],
        },
      ]);
      void coordinator.joinGroup(joinRequest());
      const rebalancing = (await coordinator.describeGroups({ groups: ['g'] })).groups[0];
      expect(rebalancing).toMatchObject({ groupState: 'PreparingRebalance', protocolData: '' });
      expect(rebalancing?.members.map((m) => m.memberMetadata.length)).toEqual([0, 0, 0]);
      expect(await coordinator.listGroups()).toEqual({
        throttleTimeMs: 0,
        errorCode: 0,
        groups: [{ groupId: 'g', protocolType: 'consumer' }],
      });
    });

    it('answers parked requests NOT_COORDINATOR on close and everything later COORDINATOR_NOT_AVAILABLE', async () => {
      const { coordinator, scheduler } = newCoordinator();
      const { follower, leader } = await twoMembersJoin(coordinator, scheduler);
      const parkedSync = track(sync(coordinator, follower.memberId, 1));
      const join = track(coordinator.joinGroup(joinRequest({ groupId: 'h' })));
      coordinator.close();
      await flush();
      expect(answered(parkedSync).errorCode).toBe(GroupErrorCode.NOT_COORDINATOR);
      expect(answered(join).errorCode).toBe(GroupErrorCode.NOT_COORDINATOR);
      expect(scheduler.pendingCount()).toBe(0);
      expect((await coordinator.joinGroup(joinRequest())).errorCode).toBe(15);
      expect(await heartbeat(coordinator, leader.memberId, 1)).toBe(15);
      expect((await coordinator.listGroups()).errorCode).toBe(15);
      expect((await coordinator.describeGroups({ groups: ['g'] })).groups[0]?.errorCode).toBe(15);
      const fetched = await coordinator.offsetFetch({ groupId: 'g', topics: null });
      expect(fetched.errorCode).toBe(15);
    });
  });
});
