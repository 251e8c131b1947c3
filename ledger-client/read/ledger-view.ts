import type { Logger } from '../../common';
import type { LedgerMetadata } from '../../metadata';
import type { DigestManager } from '../../protocol';
import type { ClientContext } from '../client-context';

/** One entry as a reader sees it: the payload, digest-verified. */
export interface LedgerEntry {
  readonly ledgerId: bigint;
  readonly entryId: bigint;
  /** Payload bytes. */
  readonly length: number;
  readonly data: Buffer;
}

/** The entries of one read, in entryId order. */
export type LedgerEntries = LedgerEntry[];

/** What a read operation needs from the handle that runs it. */
export interface LedgerView {
  readonly ctx: ClientContext;
  readonly ledgerId: bigint;
  readonly logger: Logger;
  readonly digest: DigestManager;
  /** The ledger's metadata as the handle knows it now (it may change while a read runs). */
  metadata(): LedgerMetadata;
}
