/**
 * What one entry log holds, per ledger, in bytes (size ints included), as BookKeeper's EntryLogMetadata: the
 * input of garbage collection. `totalBytes` is everything ever appended; `remainingBytes` what belongs to ledgers
 * that still exist. Usage = remaining / total: a log at 0 can be deleted, one below a threshold compacted.
 */
export class EntryLogMetadata {
  /** Every ledger ever appended, with its bytes: what the ledgers map records, deleted ledgers included. */
  private readonly appended = new Map<bigint, number>();
  /** The ledgers that still exist. */
  private readonly live = new Map<bigint, number>();
  private total = 0;
  private remaining = 0;
  /**
   * Bytes added to one ledger since the maps were last brought up to date: a flush appends a ledger's entries
   * one after another, so the two bigint-keyed maps are updated once per run of a ledger, not once per entry.
   */
  private runLedgerId: bigint | undefined;
  private runBytes = 0;

  constructor(readonly logId: number) {}

  static fromLedgersMap(logId: number, ledgers: ReadonlyMap<bigint, number>): EntryLogMetadata {
    const metadata = new EntryLogMetadata(logId);
    for (const [ledgerId, bytes] of ledgers) metadata.add(ledgerId, bytes);
    return metadata;
  }

  add(ledgerId: bigint, bytes: number): void {
    if (ledgerId !== this.runLedgerId) {
      this.settleRun();
      this.runLedgerId = ledgerId;
    }
    this.runBytes += bytes;
    this.total += bytes;
    this.remaining += bytes;
  }

  /** Adds the current run's bytes to the per-ledger maps; every reader of the maps calls it first. */
  private settleRun(): void {
    const ledgerId = this.runLedgerId;
    if (ledgerId === undefined) return;
    this.appended.set(ledgerId, (this.appended.get(ledgerId) ?? 0) + this.runBytes);
    this.live.set(ledgerId, (this.live.get(ledgerId) ?? 0) + this.runBytes);
    this.runLedgerId = undefined;
    this.runBytes = 0;
  }

  /** Forgets a deleted ledger: its bytes become garbage. */
  removeLedger(ledgerId: bigint): void {
    this.settleRun();
    const bytes = this.live.get(ledgerId);
    if (bytes === undefined) return;
    this.live.delete(ledgerId);
    this.remaining -= bytes;
  }

  /** Keeps only the ledgers `exists` accepts (at open: drop what the ledgers index does not know). */
  retainLedgers(exists: (ledgerId: bigint) => boolean): void {
    this.settleRun();
    for (const ledgerId of [...this.live.keys()]) if (!exists(ledgerId)) this.removeLedger(ledgerId);
  }

  get totalBytes(): number {
    return this.total;
  }

  get remainingBytes(): number {
    return this.remaining;
  }

  get usage(): number {
    return this.total === 0 ? 0 : this.remaining / this.total;
  }

  /** Ledgers that still exist and have bytes here. */
  get liveLedgerCount(): number {
    this.settleRun();
    return this.live.size;
  }

  hasLiveLedger(ledgerId: bigint): boolean {
    this.settleRun();
    return this.live.has(ledgerId);
  }

  /** Every ledger appended -> bytes, for the ledgers map written at rotation. */
  get appendedLedgers(): ReadonlyMap<bigint, number> {
    this.settleRun();
    return this.appended;
  }
}
