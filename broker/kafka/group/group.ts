import assert from 'node:assert';
import type { ScheduledTask } from './scheduler';
import type { JoinGroupProtocol, JoinGroupResponse, SyncGroupResponse } from './messages';

/**
 * One consumer group's state as data: its members, generation, leader and chosen protocol, with the rules that
 * need no clock (which protocols the members share, the vote, the leader, the allowed state transitions). The
 * flows that park requests and run timers are the coordinator's (group-coordinator.ts).
 */

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** Kafka's GroupMetadata.validPreviousStates. */
const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export class GroupMember {
  protocols: readonly JoinGroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** What the leader assigned it in the current generation (empty until then). */
  assignment: Buffer = EMPTY_BYTES;
  /** The generation whose JoinGroup response it last received; -1 before its first. */
  joinedGenerationId = -1;
  /** Its parked JoinGroup, answered when the rebalance completes. */
  awaitingJoin: ((response: JoinGroupResponse) => void) | undefined;
  /** Its parked SyncGroup, answered when the leader's SyncGroup arrives. */
  awaitingSync: ((response: SyncGroupResponse) => void) | undefined;
  /** Session expiry; not running while a request of the member is parked. */
  sessionTask: ScheduledTask | undefined;

  constructor(
    readonly memberId: string,
    readonly clientId: string,
    readonly clientHost: string,
    protocols: readonly JoinGroupProtocol[],
    sessionTimeoutMs: number,
    rebalanceTimeoutMs: number,
  ) {
    this.protocols = protocols;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.rebalanceTimeoutMs = rebalanceTimeoutMs;
  }

  /** Its metadata for `protocolName` (the chosen protocol is one every member listed). */
  metadataFor(protocolName: string): Buffer {
    const protocol = this.protocols.find((p) => p.name === protocolName);
    assert(protocol !== undefined, `member ${this.memberId} does not support the chosen protocol`);
    return protocol.metadata;
  }

  /** Same protocol names with the same metadata bytes, in the same order. */
  hasSameProtocols(protocols: readonly JoinGroupProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((p, i) => {
        const mine = this.protocols[i];
        return mine !== undefined && mine.name === p.name && mine.metadata.equals(p.metadata);
      })
    );
  }
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  /** Set by the first member to join an Empty group; '' for a group that only ever stored offsets. */
  protocolType = '';
  /** The protocol chosen for the current generation; null while none is (Empty). */
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order: the leader is the first member still present. */
  readonly members = new Map<string, GroupMember>();
  /** The pending rebalance's timer (initial delay or rebalance timeout) while PreparingRebalance. */
  rebalanceTask: ScheduledTask | undefined;
  /** True while the rebalance waits out the initial delay, which no early completion cuts short. */
  inInitialDelay = false;
  /** A member joined during the initial delay: the delay is extended (up to the rebalance timeout). */
  newMemberAdded = false;
  /** The time limit on the leader's SyncGroup while CompletingRebalance. */
  syncTask: ScheduledTask | undefined;

  constructor(readonly groupId: string) {}

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState): void {
    assert(
      VALID_PREVIOUS_STATES[state].includes(this.state),
      `group ${this.groupId}: ${this.state} -> ${state}`,
    );
    this.state = state;
  }

  add(member: GroupMember, protocolType: string): void {
    if (this.members.size === 0) this.protocolType = protocolType;
    this.members.set(member.memberId, member);
    this.leaderId ??= member.memberId;
  }

  remove(memberId: string): void {
    this.members.delete(memberId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** The longest rebalance timeout among the members: how long a rebalance waits for them to rejoin. */
  rebalanceTimeoutMs(): number {
    // Starting at 0: a negative timeout from a client is read as none at all.
    let longest = 0;
    for (const member of this.members.values()) longest = Math.max(longest, member.rebalanceTimeoutMs);
    return longest;
  }

  allMembersJoined(): boolean {
    for (const member of this.members.values()) if (member.awaitingJoin === undefined) return false;
    return true;
  }

  /**
   * Whether a member with these protocols may be in the group (the one with `memberId`, if any, left out of the
   * comparison): an Empty group takes any non-empty type and list; otherwise the type must match and at least
   * one protocol must be one every other member supports.
   */
  supportsProtocols(
    protocolType: string,
    protocols: readonly JoinGroupProtocol[],
    memberId: string,
  ): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    const others = [...this.members.values()].filter((m) => m.memberId !== memberId);
    if (others.length === 0) return true;
    if (protocolType !== this.protocolType) return false;
    const shared = candidateProtocols(others);
    return protocols.some((p) => shared.has(p.name));
  }

  /**
   * Kafka's vote: the candidates are the protocols every member supports; each member votes for the first
   * candidate in its own preference order; the most votes wins, a tie going to the candidate the leader prefers.
   */
  selectProtocol(): string {
    const members = [...this.members.values()];
    const candidates = candidateProtocols(members);
    const votes = new Map<string, number>();
    for (const member of members) {
      const vote = member.protocols.find((p) => candidates.has(p.name));
      assert(vote !== undefined, `group ${this.groupId}: its members share no protocol`);
      votes.set(vote.name, (votes.get(vote.name) ?? 0) + 1);
    }
    const leader = this.members.get(this.leaderId ?? '') ?? members[0];
    assert(leader !== undefined);
    let best: string | undefined;
    for (const { name } of leader.protocols) {
      const count = votes.get(name) ?? 0;
      if (count > 0 && (best === undefined || count > (votes.get(best) ?? 0))) best = name;
    }
    assert(best !== undefined);
    return best;
  }
}

/** The protocol names every one of `members` lists. */
function candidateProtocols(members: readonly GroupMember[]): Set<string> {
  const [first, ...rest] = members;
  const shared = new Set(first?.protocols.map((p) => p.name) ?? []);
  for (const member of rest) {
    const names = new Set(member.protocols.map((p) => p.name));
    for (const name of shared) if (!names.has(name)) shared.delete(name);
  }
  return shared;
}
