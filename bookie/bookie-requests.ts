import type { StatusCode } from '../protocol';

/*
 * The requests the bookie core (bookie.ts) takes and the results it answers with; server/ maps them to and
 * from the wire. Every result carries the wire StatusCode to answer with.
 */

export interface AddEntryRequest {
  ledgerId: bigint;
  entryId: bigint;
  /** 20 bytes: SHA1("ledger" ‖ password). */
  masterKey: Buffer;
  /** The packed entry: ledgerId@0, entryId@8, lastAddConfirmed@16, length@24, digest, payload. */
  body: Buffer;
  /** RECOVERY_ADD: accepted on a fenced ledger. */
  recoveryAdd: boolean;
  /** DEFERRED_SYNC: acknowledge once written to the journal, before fdatasync. */
  ackBeforeSync: boolean;
  /** Priority > 0 (recovery, re-replication): still accepted by a read-only bookie that allows it. */
  highPriority: boolean;
}

export type AddCallback = (status: StatusCode) => void;

export interface ReadEntryResult {
  status: StatusCode;
  body?: Buffer;
  /** The entry a piggybacked long poll returns (previousLAC + 1). */
  entryId?: bigint;
  maxLAC?: bigint;
  /** Wall-clock ms when the LAC last advanced (long polls). */
  lacUpdateTimestamp?: bigint;
}

export interface LongPollRequest {
  ledgerId: bigint;
  entryId: bigint;
  previousLAC: bigint;
  timeOutMs: number;
  /** ENTRY_PIGGYBACK: also return entry previousLAC + 1 (requires entryId = -1). */
  piggyback: boolean;
  /** Aborts the wait (the connection closed). */
  signal?: AbortSignal;
}

export interface ReadLacResult {
  status: StatusCode;
  lacBody?: Buffer;
  lastEntryBody?: Buffer;
}

export interface BookieInfoResult {
  status: StatusCode;
  totalDiskCapacity?: bigint;
  freeDiskSpace?: bigint;
}

export interface EntriesOfLedgerResult {
  status: StatusCode;
  /** The AvailabilityOfEntriesOfLedger bytes (protocol/entries-availability.ts). */
  availability?: Buffer;
}

export type ReadOnlyListener = (readOnly: boolean, reason: string) => void;
