/**
 * The LAC tracker on its own: monotonic LAC, loading on a miss (also racing with advances), waiters woken,
 * timed out and aborted with their timers cleared, the waiter bound, eviction.
 */
import { LacTracker } from '../../../../bookie/lac-tracker';

function tracker(
  stored: Map<bigint, bigint>,
  options: { waitersMax?: number; ledgersMax?: number } = {},
): LacTracker {
  return new LacTracker({
    loadLac: async (ledgerId) => stored.get(ledgerId),
    waitersMax: options.waitersMax ?? 100,
    ledgersMax: options.ledgersMax ?? 100,
  });
}

describe('bookie > core > LAC tracker', () => {
  it('loads a ledger on a miss, then only moves forward', async () => {
    const lac = tracker(new Map([[1n, 5n]]));
    expect(lac.peek(1n)).toBeUndefined();
    expect(await lac.get(1n)).toBe(5n);
    lac.advance(1n, 3n);
    expect(lac.peek(1n)).toBe(5n);
    lac.advance(1n, 7n);
    expect(await lac.get(1n)).toBe(7n);
    expect(await lac.get(2n)).toBeUndefined();
  });

  it('keeps the higher of an advance and a load that race', async () => {
    let release: (value: bigint) => void = () => undefined;
    const lac = new LacTracker({
      loadLac: () => new Promise((resolve) => (release = resolve)),
      waitersMax: 10,
      ledgersMax: 10,
    });
    const loading = lac.get(1n);
    lac.advance(1n, 9n);
    release(4n);
    expect(await loading).toBe(9n);
    // An advance on a ledger the store does not know yet (its first add created it) is kept too.
    const unknown = new LacTracker({ loadLac: async () => undefined, waitersMax: 1, ledgersMax: 10 });
    unknown.advance(2n, 0n);
    expect(await unknown.get(2n)).toBe(0n);
  });

  it('wakes only the waiters the new LAC satisfies', async () => {
    const lac = tracker(new Map([[1n, 0n]]));
    await lac.get(1n);
    const outcomes: string[] = [];
    const low = lac.waitForAdvance(1n, 0n, 60_000)!.then((o) => outcomes.push(`low ${o}`));
    const high = lac.waitForAdvance(1n, 5n, 60_000)!.then((o) => outcomes.push(`high ${o}`));
    lac.advance(1n, 1n);
    await low;
    expect(outcomes).toEqual(['low advanced']);
    expect(lac.waiters).toBe(1);
    lac.advance(1n, 6n);
    await high;
    expect(outcomes).toEqual(['low advanced', 'high advanced']);
    expect(lac.waiters).toBe(0);
  });

  it('times out, aborts, refuses beyond the bound, and close() ends every wait', async () => {
    const lac = tracker(new Map([[1n, 0n]]), { waitersMax: 2 });
    await lac.get(1n);
    expect(await lac.waitForAdvance(1n, 0n, 20)).toBe('timeout');
    const abort = new AbortController();
    const aborted = lac.waitForAdvance(1n, 0n, 60_000, abort.signal)!;
    const closed = lac.waitForAdvance(1n, 0n, 60_000)!;
    expect(lac.waitForAdvance(1n, 0n, 60_000)).toBeUndefined();
    abort.abort();
    expect(await aborted).toBe('aborted');
    expect(await lac.waitForAdvance(1n, 0n, 60_000, abort.signal)).toBe('aborted');
    lac.close();
    expect(await closed).toBe('aborted');
    expect(lac.waiters).toBe(0);
  });

  it('answers at once when the LAC is already past, and with a zero timeout', async () => {
    const lac = tracker(new Map([[1n, 3n]]));
    await lac.get(1n);
    expect(await lac.waitForAdvance(1n, 2n, 60_000)).toBe('advanced');
    expect(await lac.waitForAdvance(1n, 3n, 0)).toBe('timeout');
  });

  it('forgets the oldest ledgers beyond its bound but never one with waiters, and reloads them', async () => {
    const stored = new Map([
      [1n, 1n],
      [2n, 2n],
      [3n, 3n],
    ]);
    const lac = tracker(stored, { ledgersMax: 2 });
    await lac.get(1n);
    const waiting = lac.waitForAdvance(1n, 5n, 60_000)!;
    await lac.get(2n);
    await lac.get(3n); // evicts 2, the oldest without waiters
    expect(lac.peek(1n)).toBe(1n);
    expect(lac.peek(2n)).toBeUndefined();
    expect(await lac.get(2n)).toBe(2n);
    lac.advance(1n, 6n);
    expect(await waiting).toBe('advanced');
  });
});
