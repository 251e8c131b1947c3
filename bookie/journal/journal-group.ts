import type { JournalCallback } from './journal-api';

/**
 * The records of one group commit, in append order: each one's callback and whether it is acknowledged
 * "early" (after the write, before the fdatasync). The arrays are reused from group to group.
 */
export class JournalGroup {
  readonly callbacks: JournalCallback[] = [];
  readonly early: boolean[] = [];
  /** Record bytes appended (length fields included, padding not). */
  bytes = 0;
  /** Records that write bytes; forceLedger barriers are callbacks without a record. */
  records = 0;
  /** A forceLedger barrier is waiting: the group must be fdatasync'ed even when journalSyncData=false. */
  forceSync = false;

  get isEmpty(): boolean {
    return this.callbacks.length === 0;
  }

  addRecord(bytes: number, early: boolean, callback: JournalCallback): void {
    this.callbacks.push(callback);
    this.early.push(early);
    this.bytes += bytes;
    this.records++;
  }

  addBarrier(callback: JournalCallback): void {
    this.callbacks.push(callback);
    this.early.push(false);
    this.forceSync = true;
  }

  /** Calls back the early (`early === true`) or the other records, in order. */
  complete(early: boolean, error?: Error): void {
    for (let i = 0; i < this.callbacks.length; i++) {
      if (this.early[i] === early) this.callbacks[i]!(error);
    }
  }

  clear(): void {
    this.callbacks.length = 0;
    this.early.length = 0;
    this.bytes = 0;
    this.records = 0;
    this.forceSync = false;
  }
}
