import type { LedgerMetadata } from '../../metadata';

/** An OPEN ledger's metadata on `ensemble`, as a ledger client would create it. */
export function openLedgerMetadata(ensemble: string[], custom: Record<string, string> = {}): LedgerMetadata {
  return {
    ensembleSize: ensemble.length,
    writeQuorumSize: Math.min(2, ensemble.length),
    ackQuorumSize: Math.min(2, ensemble.length),
    state: 'OPEN',
    lastEntryId: -1n,
    length: 0n,
    ensembles: [{ firstEntryId: 0n, ensemble }],
    digestType: 'CRC32C',
    password: Buffer.from('secret'),
    ctime: 1767225600000n,
    customMetadata: new Map(Object.entries(custom).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

/** The same ledger closed after `lastEntryId` with `length` bytes, as a client's close writes it. */
export function closedLedgerMetadata(
  md: LedgerMetadata,
  lastEntryId: bigint,
  length: bigint,
): LedgerMetadata {
  return { ...md, state: 'CLOSED', lastEntryId, length };
}

/**
 * Polls `probe` until it returns something other than `undefined`, and returns that; fails with `what` after
 * `timeoutMs`. For conditions that no single event announces; the poll interval only bounds the latency.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
