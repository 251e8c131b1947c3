import { EntryLogMetadata } from '../../../../bookie/storage';

describe('bookie > storage > entry log metadata', () => {
  test('bytes per ledger add up across interleaved runs, whichever ledger the last add was for', () => {
    const metadata = new EntryLogMetadata(7);
    const adds: Array<[bigint, number]> = [
      [1n, 100],
      [1n, 50],
      [2n, 10],
      [1n, 5],
      [3n, 1],
      [3n, 2],
    ];
    for (const [ledgerId, bytes] of adds) metadata.add(ledgerId, bytes);
    expect([...metadata.appendedLedgers].sort((a, b) => Number(a[0] - b[0]))).toEqual([
      [1n, 155],
      [2n, 10],
      [3n, 3],
    ]);
    expect(metadata.totalBytes).toBe(168);
    expect(metadata.remainingBytes).toBe(168);
    expect(metadata.liveLedgerCount).toBe(3);
    expect(metadata.hasLiveLedger(3n)).toBe(true);
  });

  test('removing the ledger that is being added to drops all of its bytes, including the latest run', () => {
    const metadata = new EntryLogMetadata(1);
    metadata.add(5n, 40);
    metadata.add(6n, 60);
    metadata.add(5n, 10);
    metadata.removeLedger(5n);
    expect(metadata.hasLiveLedger(5n)).toBe(false);
    expect(metadata.remainingBytes).toBe(60);
    expect(metadata.totalBytes).toBe(110);
    expect(metadata.usage).toBeCloseTo(60 / 110);
    // The ledgers map still records what was appended, deleted ledgers included.
    expect(metadata.appendedLedgers.get(5n)).toBe(50);
  });

  test('retainLedgers sees the latest run and keeps only the ledgers it accepts', () => {
    const metadata = new EntryLogMetadata(1);
    metadata.add(1n, 10);
    metadata.add(2n, 20);
    metadata.retainLedgers((ledgerId) => ledgerId === 2n);
    expect(metadata.liveLedgerCount).toBe(1);
    expect(metadata.remainingBytes).toBe(20);
    metadata.add(2n, 5);
    metadata.removeLedger(2n);
    expect(metadata.remainingBytes).toBe(0);
    expect(metadata.usage).toBe(0);
  });
});
