import type { Position } from '../../../managed-ledger';
import { murmur3_32 } from '../../pulsar';
import type { Consumer } from './consumer';
import type { DeliveredMessage, PendingAck } from './types';
import { STICKY_KEY_HASH_RANGE } from './dispatcher';
import type { PreparedEntry } from './dispatcher';
import { SharedDispatcher } from './shared-dispatcher';
import type { ReplayItem } from './shared-dispatcher';

/** Points per consumer on the hash ring (Pulsar's subscriptionKeySharedConsistentHashingReplicaPoints). */
export const HASH_RING_POINTS_PER_CONSUMER = 100;
/** Messages waiting for redelivery beyond which no new entries are read (Pulsar's look-ahead limit). */
export const KEY_SHARED_REPLAY_LOOK_AHEAD_MAX = 10_000;

interface RingPoint {
  readonly hash: number;
  readonly consumer: Consumer;
}

/**
 * Pulsar's ConsistentHashingStickyKeyConsumerSelector: each consumer puts 100 points on a ring of [0, 65536)
 * (murmur3 of `name NUL i`, as Pulsar 4 keys them, mod 65536, the range key hashes are taken in); a key hash goes to the consumer of the first point at or after
 * it, wrapping around. Adding or removing a consumer moves only the hashes next to its points.
 */
export class ConsistentHashingSelector {
  private ring: RingPoint[] = [];

  add(consumer: Consumer): void {
    for (let i = 0; i < HASH_RING_POINTS_PER_CONSUMER; i++) {
      this.ring.push({
        hash: murmur3_32(`${consumer.consumerName}\0${i}`) % STICKY_KEY_HASH_RANGE,
        consumer,
      });
    }
    // Equal hashes (two consumers of the same name): the one added first keeps the point.
    this.ring.sort((a, b) => a.hash - b.hash || a.consumer.consumerId - b.consumer.consumerId);
  }

  remove(consumer: Consumer): void {
    this.ring = this.ring.filter((point) => point.consumer !== consumer);
  }

  select(hash: number): Consumer | undefined {
    const ring = this.ring;
    if (ring.length === 0) return undefined;
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]!.hash < hash) lo = mid + 1;
      else hi = mid;
    }
    return (ring[lo] ?? ring[0]!).consumer;
  }

  /** The hash ranges each consumer owns, as Pulsar prints them in stats ("[start, end]"). */
  rangesOf(consumer: Consumer): string[] {
    const out: string[] = [];
    const ring = this.ring;
    for (let i = 0; i < ring.length; i++) {
      if (ring[i]!.consumer !== consumer) continue;
      const start = i === 0 ? 0 : ring[i - 1]!.hash + 1;
      if (start <= ring[i]!.hash) out.push(`[${start}, ${ring[i]!.hash}]`);
    }
    const first = ring[0];
    const last = ring[ring.length - 1];
    if (
      first !== undefined &&
      last !== undefined &&
      first.consumer === consumer &&
      last.hash + 1 < STICKY_KEY_HASH_RANGE
    ) {
      out.push(`[${last.hash + 1}, ${STICKY_KEY_HASH_RANGE - 1}]`);
    }
    return out;
  }
}

/** The consumer holding unacknowledged messages of a hash, and how many. */
interface HashOwner {
  readonly consumer: Consumer;
  count: number;
}

/**
 * Key_Shared (Pulsar 4's PersistentStickyKeyDispatcherMultipleConsumers with PIP-379 "draining hashes"): every
 * message of a key goes to the consumer the ring selects for the key's hash, in order. When the ring moves a hash
 * to another consumer (one joined or left), messages of that hash wait while the previous consumer still has
 * unacknowledged messages of it; and a message never overtakes an earlier message of its hash waiting for
 * redelivery. So each key is delivered in order to one consumer at a time.
 */
export class KeySharedDispatcher extends SharedDispatcher {
  override readonly type = 'Key_Shared';
  readonly selector = new ConsistentHashingSelector();
  /** Hashes with unacknowledged messages, and the consumer that has them. */
  private readonly hashOwners = new Map<number, HashOwner>();
  /** Hashes of messages waiting for redelivery, with their number. */
  private readonly replayHashes = new Map<number, number>();
  /** A hash with messages waiting for redelivery drained since the last look. */
  private drained = false;

  override addConsumer(consumer: Consumer): void {
    this.selector.add(consumer);
    super.addConsumer(consumer);
  }

  /** The hash ranges a consumer owns (for its stats). */
  keyHashRangesOf(consumer: Consumer): string[] {
    return this.selector.rangesOf(consumer);
  }

  protected override consumerRemoved(consumer: Consumer): void {
    this.selector.remove(consumer);
  }

  protected override pendingRemoved(consumer: Consumer, pending: PendingAck): void {
    super.pendingRemoved(consumer, pending);
    const owner = this.hashOwners.get(pending.stickyKeyHash);
    if (owner === undefined || owner.consumer !== consumer) return;
    owner.count--;
    if (owner.count > 0) return;
    this.hashOwners.delete(pending.stickyKeyHash);
    // The hash drained: messages of it waiting for redelivery may go now.
    if (this.replayHashes.has(pending.stickyKeyHash)) this.drained = true;
  }

  override acknowledged(
    position: Position,
    owner: Consumer | undefined,
    pending: PendingAck | undefined,
  ): void {
    super.acknowledged(position, owner, pending);
    if (this.drained) {
      this.drained = false;
      this.readReplayNow();
    }
  }

  protected override replayAdded(item: ReplayItem): void {
    this.replayHashes.set(item.stickyKeyHash, (this.replayHashes.get(item.stickyKeyHash) ?? 0) + 1);
  }

  protected override replayRemoved(item: ReplayItem): void {
    const count = (this.replayHashes.get(item.stickyKeyHash) ?? 0) - 1;
    if (count <= 0) this.replayHashes.delete(item.stickyKeyHash);
    else this.replayHashes.set(item.stickyKeyHash, count);
  }

  protected override stateCleared(): void {
    this.hashOwners.clear();
    this.replayHashes.clear();
  }

  protected override normalReadAllowed(): boolean {
    return this.replay.size < KEY_SHARED_REPLAY_LOOK_AHEAD_MAX;
  }

  /**
   * In order, the waiting messages whose consumer can take them now; once a hash is held back, its later
   * messages are too (they must not overtake it).
   */
  protected override replayCandidates(max: number): Position[] {
    const out: Position[] = [];
    const held = new Set<number>();
    const permits = new Map<Consumer, number>();
    for (const item of this.replay.sorted()) {
      if (out.length >= max) break;
      const hash = item.stickyKeyHash;
      if (held.has(hash)) continue;
      const consumer = this.consumerFor(hash, permits);
      if (consumer === undefined) {
        held.add(hash);
        continue;
      }
      permits.set(consumer, (permits.get(consumer) ?? this.room(consumer)) - 1);
      out.push(item.position);
    }
    return out;
  }

  protected override dispatch(entries: PreparedEntry[], replay: boolean): void {
    const batches = new Map<Consumer, { messages: DeliveredMessage[]; hashes: number[] }>();
    const permits = new Map<Consumer, number>();
    const held = new Set<number>();
    for (const entry of entries) {
      const hash = entry.stickyKeyHash;
      // A message waits behind an earlier one of its hash: held in this batch, or (for new entries) waiting in the
      // redelivery set, which only holds messages read before these.
      const behind = held.has(hash) || (!replay && this.replayHashes.has(hash));
      const consumer = behind ? undefined : this.consumerFor(hash, permits);
      if (consumer === undefined) {
        held.add(hash);
        this.addToReplay(entry.position, hash);
        continue;
      }
      permits.set(consumer, (permits.get(consumer) ?? this.room(consumer)) - entry.entry.numMessages);
      let batch = batches.get(consumer);
      if (batch === undefined) {
        batch = { messages: [], hashes: [] };
        batches.set(consumer, batch);
      }
      batch.messages.push(this.delivered(entry));
      batch.hashes.push(hash);
      const owner = this.hashOwners.get(hash);
      if (owner === undefined) this.hashOwners.set(hash, { consumer, count: 1 });
      else owner.count++;
    }
    for (const [consumer, batch] of batches) this.deliverTo(consumer, batch.messages, batch.hashes);
  }

  /** Messages `consumer` may take now: its permits, within the unacknowledged limits. */
  private room(consumer: Consumer): number {
    return Math.min(consumer.availablePermits, this.roomUnderLimits(consumer));
  }

  /**
   * The consumer a message of `hash` may go to now: the ring's choice, unless another consumer still has
   * unacknowledged messages of the hash (draining), or the choice has no permits left (in `permits`, what this
   * pass has already handed out) or is blocked on unacknowledged messages.
   */
  private consumerFor(hash: number, permits: Map<Consumer, number>): Consumer | undefined {
    const consumer = this.selector.select(hash);
    if (consumer === undefined || consumer.blockedOnUnackedMessages) return undefined;
    const owner = this.hashOwners.get(hash);
    if (owner !== undefined && owner.consumer !== consumer) return undefined;
    if ((permits.get(consumer) ?? this.room(consumer)) <= 0) return undefined;
    return consumer;
  }
}
