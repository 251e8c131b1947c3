import type { Position } from '../../../managed-ledger';
import { PositionMap } from './position-map';

interface RedeliveryCount {
  readonly position: Position;
  count: number;
}

/** How often each unacknowledged message was redelivered (Pulsar's InMemoryRedeliveryTracker). */
export class RedeliveryTracker {
  private readonly counts = new PositionMap<RedeliveryCount>();

  get(position: Position): number {
    return this.counts.get(position)?.count ?? 0;
  }

  increment(position: Position): number {
    const found = this.counts.get(position);
    if (found !== undefined) return ++found.count;
    this.counts.set({ position, count: 1 });
    return 1;
  }

  remove(position: Position): void {
    this.counts.delete(position);
  }

  removeAtOrBefore(position: Position): void {
    if (this.counts.size > 0) this.counts.deleteAtOrBefore(position);
  }

  clear(): void {
    this.counts.clear();
  }
}
