import { setTimeout as sleep } from 'node:timers/promises';
import { BadVersionError, MetadataUnavailableError } from '../../metadata';
import type { LedgerMetadata, VersionedLedgerMetadata } from '../../metadata';
import type { ClientContext } from '../client-context';
import { BKError } from '../errors';
import { metadataError } from './add-errors';

/**
 * The two metadata changes a writer makes, each a compare-and-set loop on the store version (BookKeeper's
 * MetadataUpdateLoop): re-read on a lost race, check the ledger is still in a state that allows the change,
 * re-apply it, try again.
 */

/** Lost compare-and-sets before giving up: each one means another client changed the ledger meanwhile. */
const CAS_ATTEMPTS_MAX = 100;
/** Attempts when the store itself fails (unreachable, timed out), with a doubling pause from the first. */
const UNAVAILABLE_ATTEMPTS_MAX = 4;
const UNAVAILABLE_RETRY_MS = 200;

/**
 * Writes `next(current metadata)` with a compare-and-set, re-reading and recomputing on every lost race until it
 * wins. `next` returns undefined when the metadata already says what we wanted, and throws a BKError when the
 * change is no longer allowed. Store failures are retried a few times, then reported as MetaStoreException.
 */
export async function updateLedgerMetadata(
  ctx: ClientContext,
  ledgerId: bigint,
  current: VersionedLedgerMetadata,
  what: string,
  next: (metadata: LedgerMetadata) => LedgerMetadata | undefined,
): Promise<VersionedLedgerMetadata> {
  let unavailable = 0;
  for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
    const wanted = next(current.metadata);
    if (wanted === undefined) return current;
    try {
      return await ctx.ledgerManager.writeLedgerMetadata(ledgerId, wanted, current.version);
    } catch (error) {
      if (error instanceof MetadataUnavailableError && ++unavailable < UNAVAILABLE_ATTEMPTS_MAX) {
        await sleep(UNAVAILABLE_RETRY_MS * 2 ** (unavailable - 1));
      } else if (!(error instanceof BadVersionError)) {
        throw metadataError(what, ledgerId, error);
      }
    }
    try {
      current = await ctx.ledgerManager.readLedgerMetadata(ledgerId);
    } catch (error) {
      throw metadataError(what, ledgerId, error);
    }
  }
  throw new BKError(
    'MetadataVersionException',
    `${what}: ledger ${ledgerId}: lost ${CAS_ATTEMPTS_MAX} compare-and-sets in a row`,
    { ledgerId },
  );
}

/**
 * The ensemble change's metadata update: from entry `lastAddConfirmed + 1` on, the ledger is stored on `ensemble`.
 * If the last segment starts there (nothing was confirmed on it) it is replaced, else a segment is appended.
 * A CLOSED ledger fails with LedgerClosedException; an IN_RECOVERY one with LedgerFencedException unless
 * `recovery` (the recovery op itself changing the ensemble of the ledger it recovers).
 */
export function changeEnsembleInMetadata(
  ctx: ClientContext,
  ledgerId: bigint,
  current: VersionedLedgerMetadata,
  change: { lastAddConfirmed: bigint; ensemble: readonly string[]; recovery: boolean },
): Promise<VersionedLedgerMetadata> {
  const firstEntryId = change.lastAddConfirmed + 1n;
  const what = `ensemble change from entry ${firstEntryId}`;
  return updateLedgerMetadata(ctx, ledgerId, current, what, (metadata) => {
    if (metadata.state === 'CLOSED') {
      throw new BKError('LedgerClosedException', `${what}: ledger ${ledgerId} was closed by another client`, {
        ledgerId,
      });
    }
    if (metadata.state === 'IN_RECOVERY' && !change.recovery) {
      throw new BKError(
        'LedgerFencedException',
        `${what}: ledger ${ledgerId} is being recovered by another client`,
        { ledgerId },
      );
    }
    const segments = metadata.ensembles;
    const last = segments[segments.length - 1]!;
    if (last.firstEntryId > firstEntryId) {
      throw new BKError(
        'MetadataVersionException',
        `${what}: ledger ${ledgerId} already has a segment from entry ${last.firstEntryId}`,
        { ledgerId },
      );
    }
    const segment = { firstEntryId, ensemble: [...change.ensemble] };
    const ensembles =
      last.firstEntryId === firstEntryId ? [...segments.slice(0, -1), segment] : [...segments, segment];
    return { ...metadata, ensembles };
  });
}

/**
 * Close by compare-and-set: CLOSED with `lastEntryId` and `length`. Already CLOSED with the same values is
 * success (a second close, or a recovery that found the same end); CLOSED with different ones is
 * MetadataVersionException (someone recovered the ledger to another end). IN_RECOVERY is overwritten, as
 * BookKeeper's close does: every entry up to `lastEntryId` reached its ack quorum, so a recoverer finds them.
 */
export function closeLedgerMetadata(
  ctx: ClientContext,
  ledgerId: bigint,
  current: VersionedLedgerMetadata,
  end: { lastEntryId: bigint; length: bigint },
): Promise<VersionedLedgerMetadata> {
  const what = `close at entry ${end.lastEntryId}`;
  return updateLedgerMetadata(ctx, ledgerId, current, what, (metadata) => {
    if (metadata.state !== 'CLOSED') {
      return { ...metadata, state: 'CLOSED', lastEntryId: end.lastEntryId, length: end.length };
    }
    if (metadata.lastEntryId === end.lastEntryId && metadata.length === end.length) return undefined;
    throw new BKError(
      'MetadataVersionException',
      `${what}: ledger ${ledgerId} is already closed at entry ${metadata.lastEntryId} with length ` +
        `${metadata.length}, not at entry ${end.lastEntryId} with length ${end.length}`,
      { ledgerId },
    );
  });
}
