import { GroupErrorCode } from '../../../../../broker/kafka/group';
import type { GroupCoordinator, JoinGroupResponse } from '../../../../../broker/kafka/group';
import { seededRandom, testSeed } from '../../../../harness';
import { flush, joinRequest, newCoordinator, track } from './group-test-kit';
import type { ManualScheduler, Tracked } from './group-test-kit';

/**
 * Goal: the coordinator's invariants hold under any interleaving of members' requests and time. Method: several
 * simulated clients, each with one request in flight at most (as on a Kafka connection), pick random actions
 * (join, sync, heartbeat, commit, fetch, leave, fall silent) while time moves by random steps; after every step
 * the group's snapshot and every answer so far are checked. At the end nobody asks anything more, time runs on,
 * and every parked request must have been answered. Before that, every client behaves until the group is Stable
 * (the random steps alone may never get there: that assertion made seed 1402656748 fail). LEDGERLINE_SEED=<seed>
 * replays a run.
 */

const seed = testSeed();

interface Client {
  name: string;
  memberId: string;
  generationId: number;
  lastJoin: JoinGroupResponse | undefined;
  inFlight: Tracked<unknown> | undefined;
  /** What a well-behaved client would do next. */
  phase: 'join' | 'sync' | 'steady';
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  silentUntilMs: number;
}

/** What a well-behaved client sends next: JoinGroup, SyncGroup, then heartbeats. */
function sensibleAction(client: Client): number {
  return { join: 0, sync: 2, steady: 3 }[client.phase];
}

class Simulation {
  readonly coordinator: GroupCoordinator;
  readonly scheduler: ManualScheduler;
  readonly clients: Client[];
  readonly all: Array<Tracked<unknown>> = [];
  /** generation → the leader and protocol every successful JoinGroup answer of it named. */
  readonly generations = new Map<number, { leader: string; protocolName: string; members: Set<string> }>();
  highestGenerationId = 0;
  readonly statesSeen = new Map<string, number>();

  constructor(
    private readonly next: () => number,
    clientCount: number,
  ) {
    const delays = [0, 500, 3000];
    ({ coordinator: this.coordinator, scheduler: this.scheduler } = newCoordinator({
      config: { groupInitialRebalanceDelayMs: delays[this.int(delays.length)] ?? 0 },
    }));
    this.clients = Array.from({ length: clientCount }, (_, i) => ({
      name: `c${i}`,
      memberId: '',
      generationId: -1,
      lastJoin: undefined,
      inFlight: undefined,
      phase: 'join',
      sessionTimeoutMs: 6000 + this.int(4001),
      rebalanceTimeoutMs: 6000 + this.int(14001),
      silentUntilMs: 0,
    }));
  }

  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  send<T>(client: Client, promise: Promise<T>, onAnswer: (answer: T) => void): void {
    const tracked = track(promise.then((answer) => (onAnswer(answer), answer)));
    client.inFlight = tracked;
    this.all.push(tracked);
  }

  step(): void {
    if (this.int(4) === 0) {
      this.scheduler.advance(this.int(4) === 0 ? this.int(25000) : this.int(3000));
      return;
    }
    const client = this.clients[this.int(this.clients.length)];
    if (client === undefined || !this.canAct(client)) return;
    // Mostly what a real client does next; sometimes anything at all.
    this.act(client, this.int(3) > 0 ? sensibleAction(client) : this.int(12));
  }

  /**
   * Every client does what a well-behaved one does next while time moves in small steps, until the group is
   * Stable (true) or `steps` have passed: whatever the random steps left behind, well-behaved members converge.
   */
  async settle(steps: number): Promise<boolean> {
    for (let step = 0; step < steps; step++) {
      if (this.coordinator.groupSnapshot('g')?.state === 'Stable') return true;
      for (const client of this.clients) if (this.canAct(client)) this.act(client, sensibleAction(client));
      await flush();
      this.checkInvariants();
      this.scheduler.advance(200);
      await flush();
      this.checkInvariants();
    }
    return this.coordinator.groupSnapshot('g')?.state === 'Stable';
  }

  /** No request of its own in flight, and not silent. */
  canAct(client: Client): boolean {
    if (client.inFlight !== undefined && !client.inFlight.done) return false;
    return this.scheduler.nowMs >= client.silentUntilMs;
  }

  act(client: Client, action: number): void {
    const groupId = 'g';
    const { memberId, generationId } = client;
    switch (action) {
      case 0:
      case 1: {
        const protocols =
          this.int(10) === 0
            ? ['sticky']
            : this.int(2) === 0
              ? ['range', 'roundrobin']
              : ['roundrobin', 'range'];
        const request = joinRequest({
          memberId,
          clientId: client.name,
          sessionTimeoutMs: client.sessionTimeoutMs,
          rebalanceTimeoutMs: client.rebalanceTimeoutMs,
          protocols: protocols.map((name) => ({ name, metadata: Buffer.from(name) })),
        });
        this.send(client, this.coordinator.joinGroup(request), (answer) => this.onJoin(client, answer));
        return;
      }
      case 2: {
        const lastJoin = client.lastJoin;
        const assignments =
          lastJoin !== undefined && lastJoin.leader === memberId
            ? lastJoin.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(m.memberId) }))
            : [];
        this.send(
          client,
          this.coordinator.syncGroup({ groupId, generationId, memberId, assignments }),
          (answer) => {
            if (answer.errorCode === GroupErrorCode.NONE) {
              expect(answer.assignment.length === 0 || answer.assignment.toString() === memberId).toBe(true);
              if (client.generationId === generationId) client.phase = 'steady';
            }
            this.onError(client, answer.errorCode);
          },
        );
        return;
      }
      case 3:
      case 4:
        this.send(client, this.coordinator.heartbeat({ groupId, generationId, memberId }), (answer) =>
          this.onError(client, answer.errorCode),
        );
        return;
      case 5: {
        const partitions = [
          { partitionIndex: this.int(3), committedOffset: BigInt(this.int(1000)), committedMetadata: null },
        ];
        const request = {
          groupId,
          generationId,
          memberId,
          retentionTimeMs: -1n,
          topics: [{ name: 't', partitions }],
        };
        this.send(client, this.coordinator.offsetCommit(request), (answer) => {
          for (const p of answer.topics.flatMap((t) => t.partitions)) this.onError(client, p.errorCode);
        });
        return;
      }
      case 6:
        this.send(
          client,
          this.coordinator.offsetFetch({
            groupId,
            topics: this.int(2) === 0 ? null : [{ name: 't', partitionIndexes: [0, 1, 2] }],
          }),
          (answer) => {
            expect(answer.errorCode).toBe(0);
            return;
          },
        );
        return;
      case 7:
        this.send(client, this.coordinator.leaveGroup({ groupId, memberId }), () => this.forget(client));
        return;
      case 8:
        // Falls silent (a GC pause, a crash): long enough, sometimes, for its session to expire.
        client.silentUntilMs = this.scheduler.nowMs + this.int(20000);
        return;
      default:
        this.send(client, this.coordinator.describeGroups({ groups: [groupId] }), () => undefined);
    }
  }

  onJoin(client: Client, answer: JoinGroupResponse): void {
    if (answer.errorCode !== GroupErrorCode.NONE) {
      this.onError(client, answer.errorCode);
      return;
    }
    client.memberId = answer.memberId;
    client.generationId = answer.generationId;
    client.phase = 'sync';
    client.lastJoin = answer;
    const known = this.generations.get(answer.generationId);
    if (known === undefined) {
      this.generations.set(answer.generationId, {
        leader: answer.leader,
        protocolName: answer.protocolName,
        members: new Set([answer.memberId]),
      });
    } else {
      // One leader and one protocol per generation.
      expect({ leader: answer.leader, protocolName: answer.protocolName }).toEqual({
        leader: known.leader,
        protocolName: known.protocolName,
      });
      known.members.add(answer.memberId);
    }
    if (answer.leader === answer.memberId) {
      // The leader's member list is the whole generation.
      const listed = new Set(answer.members.map((m) => m.memberId));
      expect(listed.has(answer.memberId)).toBe(true);
      for (const member of this.generations.get(answer.generationId)?.members ?? [])
        expect(listed.has(member)).toBe(true);
    } else {
      expect(answer.members).toEqual([]);
    }
  }

  onError(client: Client, errorCode: number): void {
    if (errorCode === GroupErrorCode.UNKNOWN_MEMBER_ID) this.forget(client);
    if (
      errorCode === GroupErrorCode.REBALANCE_IN_PROGRESS ||
      errorCode === GroupErrorCode.ILLEGAL_GENERATION
    ) {
      client.phase = 'join';
    }
  }

  forget(client: Client): void {
    client.memberId = '';
    client.generationId = -1;
    client.lastJoin = undefined;
    client.phase = 'join';
  }

  checkInvariants(): void {
    const group = this.coordinator.groupSnapshot('g');
    if (group === undefined) return;
    this.statesSeen.set(group.state, (this.statesSeen.get(group.state) ?? 0) + 1);
    expect(group.generationId).toBeGreaterThanOrEqual(this.highestGenerationId);
    this.highestGenerationId = group.generationId;
    const ids = group.members.map((m) => m.memberId);
    // At most one leader, and it is a member.
    if (ids.length === 0) expect(group.leaderId).toBeNull();
    else expect(ids).toContain(group.leaderId);
    if (group.state === 'Empty') expect(ids).toEqual([]);
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') {
      expect(ids.length).toBeGreaterThan(0);
      for (const member of group.members) {
        expect(member.joinedGenerationId).toBe(group.generationId);
        expect(member.awaitingJoin).toBe(false);
      }
    }
    if (group.state === 'Stable') expect(group.members.every((m) => !m.awaitingSync)).toBe(true);
    if (group.state !== 'PreparingRebalance') expect(group.members.every((m) => !m.awaitingJoin)).toBe(true);
    if (group.state !== 'CompletingRebalance') expect(group.members.every((m) => !m.awaitingSync)).toBe(true);
  }
}

describe('broker > kafka > group > randomized', () => {
  it(`keeps the group invariants and answers every parked request (seed ${seed})`, async () => {
    const next = seededRandom(seed);
    for (let round = 0; round < 12; round++) {
      const simulation = new Simulation(next, 2 + Math.floor(next() * 4));
      for (let step = 0; step < 300; step++) {
        simulation.step();
        await flush();
        simulation.checkInvariants();
      }
      // Whatever the random steps left, well-behaved members reach Stable (and the run was not vacuous).
      expect(await simulation.settle(1000)).toBe(true);
      // Nobody asks anything more: every timer runs out and every parked request is answered.
      for (let i = 0; i < 10; i++) {
        simulation.scheduler.advance(60000);
        await flush();
        simulation.checkInvariants();
      }
      expect(simulation.all.filter((t) => !t.done)).toEqual([]);
      expect(simulation.generations.size).toBeGreaterThan(0);
      simulation.coordinator.close();
      expect(simulation.scheduler.pendingCount()).toBe(0);
    }
  }, 30000);
});
