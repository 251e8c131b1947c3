import { LedgerlineError } from '../common';

/**
 * The protocol layer's error family. Everything this module throws on bad input is a ProtocolError, so the
 * connection layer can catch one class and turn it into a closed connection (frames) or an EBADREQ / failed
 * operation (messages, entries) without ever crashing on what a peer sent.
 */
export class ProtocolError extends LedgerlineError {
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The byte stream cannot be split into frames (oversized or negative length). The connection must close. */
export class FrameError extends ProtocolError {
  /** The length prefix as read from the wire (signed 32-bit). */
  readonly frameLengthBytes: number;

  constructor(code: 'FrameTooLarge' | 'NegativeFrameLength', frameLengthBytes: number, message: string) {
    super(code, message);
    this.frameLengthBytes = frameLengthBytes;
  }
}

/**
 * A frame that is not a well-formed message: truncated or overlong varints, a length running past the end,
 * an unsupported wire type, a missing required field. `offset` is where in the frame the decoder stopped.
 */
export class MessageDecodeError extends ProtocolError {
  readonly messageType: string;
  readonly offset: number;

  constructor(messageType: string, offset: number, message: string) {
    super('MalformedMessage', `${messageType}: ${message} (at byte ${offset})`);
    this.messageType = messageType;
    this.offset = offset;
  }
}

/** What the caller was doing when a bookie answered with a non-OK status; all parts optional. */
export interface StatusErrorContext {
  operation?: string;
  ledgerId?: bigint;
  entryId?: bigint;
  bookieId?: string;
}

/** A bookie answered with a status other than EOK. Built from the status-code table by `statusToError`. */
export class BookieStatusError extends ProtocolError {
  /** The wire StatusCode as received (may be a value the table does not know). */
  readonly status: number;
  readonly context: StatusErrorContext;

  constructor(
    status: number,
    code: string,
    message: string,
    retriable: boolean,
    context: StatusErrorContext = {},
  ) {
    super(code, message, { retriable });
    this.status = status;
    this.context = context;
  }
}

/** Why a packed entry or LAC blob was refused on read. */
export type EntryVerificationCode =
  'DigestMismatch' | 'LedgerIdMismatch' | 'EntryIdMismatch' | 'MalformedEntry';

/**
 * A packed entry (or explicit-LAC blob) failed verification. The client treats it like a bad replica and
 * reads another one; it is not retriable against the same bookie because the stored bytes will not change.
 */
export class EntryVerificationError extends ProtocolError {
  /** The ledger the verifier expected; undefined where the caller had none (bookie-side body helpers). */
  readonly ledgerId: bigint | undefined;

  constructor(code: EntryVerificationCode, ledgerId: bigint | undefined, message: string) {
    super(code, message);
    this.ledgerId = ledgerId;
  }
}

/** The digest stored in the entry differs from the one computed over its header and payload. */
export class DigestMismatchError extends EntryVerificationError {
  readonly entryId: bigint | undefined;

  constructor(ledgerId: bigint, entryId: bigint | undefined, message: string) {
    super('DigestMismatch', ledgerId, message);
    this.entryId = entryId;
  }
}

/** The digest matched but the entry belongs to another ledger. */
export class LedgerIdMismatchError extends EntryVerificationError {
  readonly actualLedgerId: bigint;

  constructor(expectedLedgerId: bigint, actualLedgerId: bigint) {
    super(
      'LedgerIdMismatch',
      expectedLedgerId,
      `entry belongs to ledger ${actualLedgerId}, expected ledger ${expectedLedgerId}`,
    );
    this.actualLedgerId = actualLedgerId;
  }
}

/** The digest matched but the entry is not the one asked for. */
export class EntryIdMismatchError extends EntryVerificationError {
  readonly expectedEntryId: bigint;
  readonly actualEntryId: bigint;

  constructor(ledgerId: bigint, expectedEntryId: bigint, actualEntryId: bigint) {
    super(
      'EntryIdMismatch',
      ledgerId,
      `ledger ${ledgerId}: got entry ${actualEntryId}, expected entry ${expectedEntryId}`,
    );
    this.expectedEntryId = expectedEntryId;
    this.actualEntryId = actualEntryId;
  }
}

/** The bytes are too short to be a packed entry or LAC blob of this digest type. */
export class MalformedEntryError extends EntryVerificationError {
  constructor(ledgerId: bigint | undefined, message: string) {
    super('MalformedEntry', ledgerId, message);
  }
}
