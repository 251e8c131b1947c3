import { createHash, timingSafeEqual } from 'node:crypto';
import type { VersionedLedgerMetadata } from '../../metadata';
import { DigestManager, DigestType, masterKey } from '../../protocol';
import type { ClientContext } from '../client-context';
import { BKError } from '../errors';
import { LedgerRecoveryOp } from '../recovery/ledger-recovery';
import { metadataError } from './read-errors';
import { LedgerReadHandle } from './read-handle';
import type { ReadHandle } from './read-handle';

export interface OpenLedgerArgs {
  ledgerId: bigint;
  password: Buffer | string;
  /** Fence the ledger, recover its end and close it (the default open of BookKeeper's API), or just read. */
  recovery: boolean;
}

/**
 * Opens a ledger for reading (BookKeeper's LedgerOpenOp). The password must equal the one in the metadata.
 * With recovery the ledger is recovered and closed first (LedgerRecoveryOp) and the handle reads the closed
 * ledger. Without, nothing is fenced: the handle watches the metadata and starts from the LAC the bookies
 * report (readLastAddConfirmed), or from lastEntryId when the ledger is already closed.
 */
export async function openLedger(ctx: ClientContext, args: OpenLedgerArgs): Promise<ReadHandle> {
  const { ledgerId } = args;
  if (ctx.isClosed()) {
    throw new BKError('ClientClosedException', `cannot open ledger ${ledgerId}: the client is closed`, {
      ledgerId,
    });
  }
  if (typeof ledgerId !== 'bigint' || ledgerId < 0n) {
    throw new BKError('IncorrectParameterException', `cannot open ledger ${String(ledgerId)}: bad ledger id`);
  }
  const password = typeof args.password === 'string' ? Buffer.from(args.password, 'utf8') : args.password;
  if (!Buffer.isBuffer(password)) {
    throw new BKError(
      'IncorrectParameterException',
      `cannot open ledger ${ledgerId}: the password must be a Buffer or string`,
      {
        ledgerId,
      },
    );
  }
  let versioned: VersionedLedgerMetadata;
  try {
    versioned = await ctx.ledgerManager.readLedgerMetadata(ledgerId);
  } catch (error) {
    throw metadataError('open', ledgerId, error);
  }
  const metadata = versioned.metadata;
  if (!samePassword(metadata.password, password)) {
    throw new BKError('UnauthorizedAccessException', `cannot open ledger ${ledgerId}: wrong password`, {
      ledgerId,
    });
  }
  const digest = DigestManager.create(ledgerId, password, DigestType[metadata.digestType]);
  const logger = ctx.logger.child({ ledgerId: ledgerId.toString() });

  if (args.recovery) {
    const closed = await LedgerRecoveryOp.run(ctx, {
      ledgerId,
      metadata: versioned,
      digest,
      masterKey: masterKey(password),
      logger,
    });
    return new LedgerReadHandle(ctx, ledgerId, closed, digest, logger);
  }

  const handle = new LedgerReadHandle(ctx, ledgerId, versioned, digest, logger);
  if (handle.isClosed()) return handle;
  await handle.watchMetadata();
  try {
    await handle.readLastAddConfirmed();
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** Constant-time password comparison (of fixed-length hashes, so the length does not leak either). */
function samePassword(expected: Buffer, given: Buffer): boolean {
  const hash = (value: Buffer): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(hash(expected), hash(given));
}
