import { ChurnMap, churnKey } from '../../common';
import type { MessageId } from '../pulsar';

/** The unsettled deliveries of one entry's messages, by batch index + 1 (index 0 for a message not in a batch). */
interface EntryDeliveries {
  readonly partition: number;
  readonly counts: number[];
  /** Batch indexes with a count above 0. */
  live: number;
}

/**
 * How many deliveries of each message a WebSocket session pushed and the client has not settled (acked or nacked)
 * yet: a message can be delivered again (redelivery) before its ack arrives. Kept per ledger in ChurnMaps keyed by
 * entry id, so a delivery and its ack cost no string: the "L:E:P:B" key this replaces took two bigint-to-string
 * conversions per message at delivery and again at the ack, and its Map got every key promoted.
 */
export class DeliveryCounts {
  private readonly ledgers = new Map<bigint, ChurnMap<number | string, EntryDeliveries>>();
  private messages = 0;

  /** Messages with unsettled deliveries. */
  get size(): number {
    return this.messages;
  }

  /** Counts one more delivery of `id`. */
  add(id: MessageId): void {
    const slot = id.batchIndex + 1;
    if (!Number.isSafeInteger(slot) || slot < 0) throw new RangeError(`bad batch index ${id.batchIndex}`);
    let entries = this.ledgers.get(id.ledgerId);
    if (entries === undefined) {
      entries = new ChurnMap();
      this.ledgers.set(id.ledgerId, entries);
    }
    const key = churnKey(id.entryId);
    let entry = entries.get(key);
    if (entry === undefined) {
      entry = { partition: id.partition, counts: [], live: 0 };
      entries.set(key, entry);
    }
    const count = entry.counts[slot] ?? 0;
    if (count === 0) {
      entry.live++;
      this.messages++;
    }
    entry.counts[slot] = count + 1;
  }

  /** Forgets `id`'s deliveries and returns how many there were: 0 for a message id this session did not deliver. */
  take(id: MessageId): number {
    const slot = id.batchIndex + 1;
    if (!Number.isSafeInteger(slot) || slot < 0) return 0;
    const entries = this.ledgers.get(id.ledgerId);
    const key = churnKey(id.entryId);
    const entry = entries?.get(key);
    if (entry === undefined || entry.partition !== id.partition) return 0;
    const count = entry.counts[slot] ?? 0;
    if (count === 0) return 0;
    entry.counts[slot] = 0;
    this.messages--;
    if (--entry.live === 0) {
      entries!.delete(key);
      if (entries!.size === 0) this.ledgers.delete(id.ledgerId);
    }
    return count;
  }
}
