/**
 * Runs async critical sections one at a time, in call order. A failed section does not block the next one.
 * DbLedgerStorage holds it for everything that appends to entry logs or rewrites the index (flush, each
 * compaction batch, ledger deletion), so those never interleave across their awaits.
 */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
