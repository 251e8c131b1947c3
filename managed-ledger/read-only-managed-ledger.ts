import type { Logger } from '../common';
import type { BookKeeper } from '../ledger-client';
import { ManagedCursor } from './cursor/managed-cursor';
import { ManagedLedgerError } from './errors';
import type { ManagedLedgerConfig } from './managed-ledger-config';
import { ManagedLedgerView } from './managed-ledger-view';
import type { MetaStore } from './meta-store';
import { Position } from './position';

export interface ReadOnlyManagedLedgerInit {
  name: string;
  config: ManagedLedgerConfig;
  metaStore: MetaStore;
  bookKeeper: BookKeeper;
  logger: Logger;
}

/**
 * A read-only view of a managed ledger another process may own (Pulsar's ReadOnlyManagedLedgerImpl, behind
 * ReadOnlyCursor): its ledger list as the metadata had it when opened, the last ledger opened without recovery
 * and read up to its last add confirmed. Nothing is fenced and nothing is written. Read it through
 * `newNonDurableCursor` or `readEntries`; the view does not follow later adds.
 */
export class ReadOnlyManagedLedger extends ManagedLedgerView {
  private closed = false;
  private readonly terminatedPosition: Position | undefined;

  private constructor(init: ReadOnlyManagedLedgerInit, terminatedPosition: Position | undefined) {
    super({ ...init, logger: init.logger.child({ managedLedger: init.name, readOnly: true }) });
    this.terminatedPosition = terminatedPosition;
  }

  static async open(init: ReadOnlyManagedLedgerInit): Promise<ReadOnlyManagedLedger> {
    const found = await init.metaStore.getManagedLedgerInfo(init.name);
    if (found === undefined) {
      throw new ManagedLedgerError('ManagedLedgerNotFound', `managed ledger ${init.name} does not exist`);
    }
    const view = new ReadOnlyManagedLedger(init, found.value.terminatedPosition);
    view.ledgers = found.value.ledgers.map((l) => ({ ...l }));
    // The last ledger may be open (being written): it holds the entries up to the LAC its bookies report.
    await view.measureLastLedger(false);
    view.ledgers = view.ledgers.filter((l) => l.entries > 0);
    view.lastConfirmed = new Position(view.ledgers[0]?.ledgerId ?? -1n, -1n);
    const last = view.ledgers[view.ledgers.length - 1];
    if (last !== undefined) view.lastConfirmed = new Position(last.ledgerId, BigInt(last.entries - 1));
    return view;
  }

  isTerminated(): boolean {
    return this.terminatedPosition !== undefined;
  }

  /** A cursor over this view, reading after `start` (its mark-delete position). */
  newNonDurableCursor(
    start: Position | 'earliest' | 'latest' = 'earliest',
    name = 'read-only',
  ): ManagedCursor {
    this.checkReadable('open a cursor');
    const markDelete = this.startMarkDelete(start);
    return ManagedCursor.nonDurable(this, name, markDelete);
  }

  protected checkReadable(what: string): void {
    if (this.closed) {
      throw new ManagedLedgerError(
        'ManagedLedgerAlreadyClosed',
        `read-only managed ledger ${this.name}: cannot ${what}: it is closed`,
      );
    }
  }

  /** The view never grows: a waiting reader is woken only by close. */
  onNextAdd(listener: () => void): () => void {
    if (this.closed) queueMicrotask(listener);
    else this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  onMarkDeleteMoved(_cursorName: string): void {}

  onReadPositionMoved(_cursorName: string): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeReadHandles();
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }

  private readonly listeners = new Set<() => void>();
}
