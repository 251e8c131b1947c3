import assert from 'node:assert';
import { BookieStatusError } from './errors';
import type { StatusErrorContext } from './errors';
import { StatusCode } from './types';

/**
 * One row per wire status: the stable error code callers branch on, whether retrying can help, a message
 * for people, and the v2 binary protocol's number for the same condition.
 */
export interface StatusCodeInfo {
  readonly status: StatusCode;
  readonly name: string;
  readonly code: string;
  /**
   * True when the same operation may succeed if retried later or on another bookie of the ensemble (the
   * client does that through ensemble change or the next replica). False when the answer will not change:
   * the ledger is fenced, the key is wrong, the request is malformed, or the data is not there.
   */
  readonly retriable: boolean;
  readonly message: string;
  readonly v2Code: number;
}

/** The status-code table. Data, not a switch: add a row here and every lookup below follows. */
export const STATUS_CODES: readonly StatusCodeInfo[] = [
  { status: StatusCode.EOK, name: 'EOK', code: 'Ok', retriable: false, message: 'ok', v2Code: 0 },
  {
    status: StatusCode.ENOLEDGER,
    name: 'ENOLEDGER',
    code: 'NoSuchLedger',
    retriable: false,
    message: 'the bookie has no such ledger',
    v2Code: 1,
  },
  {
    status: StatusCode.ENOENTRY,
    name: 'ENOENTRY',
    code: 'NoSuchEntry',
    retriable: false,
    message: 'the bookie has no such entry',
    v2Code: 2,
  },
  {
    status: StatusCode.EBADREQ,
    name: 'EBADREQ',
    code: 'BadRequest',
    retriable: false,
    message: 'the bookie rejected the request as malformed or unsupported',
    v2Code: 100,
  },
  {
    status: StatusCode.EIO,
    name: 'EIO',
    code: 'BookieIO',
    retriable: true,
    message: 'the bookie failed an I/O operation',
    v2Code: 101,
  },
  {
    status: StatusCode.EUA,
    name: 'EUA',
    code: 'Unauthorized',
    retriable: false,
    message: 'unauthorized: wrong master key or not authenticated',
    v2Code: 102,
  },
  {
    status: StatusCode.EBADVERSION,
    name: 'EBADVERSION',
    code: 'ProtocolVersion',
    retriable: false,
    message: 'the bookie does not support this protocol version',
    v2Code: 103,
  },
  {
    status: StatusCode.EFENCED,
    name: 'EFENCED',
    code: 'LedgerFenced',
    retriable: false,
    message: 'the ledger is fenced: another client has recovered or is recovering it',
    v2Code: 104,
  },
  {
    status: StatusCode.EREADONLY,
    name: 'EREADONLY',
    code: 'WriteOnReadOnlyBookie',
    retriable: true,
    message: 'the bookie is read-only',
    v2Code: 105,
  },
  {
    status: StatusCode.ETOOMANYREQUESTS,
    name: 'ETOOMANYREQUESTS',
    code: 'TooManyRequests',
    retriable: true,
    message: 'the bookie is overloaded and rejected the request',
    v2Code: 106,
  },
  {
    status: StatusCode.EUNKNOWNLEDGERSTATE,
    name: 'EUNKNOWNLEDGERSTATE',
    code: 'DataUnknown',
    retriable: true,
    message: 'the ledger is in limbo on this bookie: its state is unknown until recovery completes',
    v2Code: 107,
  },
];

const BY_STATUS = new Map<number, StatusCodeInfo>(STATUS_CODES.map((row) => [row.status, row]));
const BY_V2_CODE = new Map<number, StatusCodeInfo>(STATUS_CODES.map((row) => [row.v2Code, row]));

/** The table row for a wire status, or undefined for a status this version does not know. */
export function statusCodeInfo(status: number): StatusCodeInfo | undefined {
  return BY_STATUS.get(status);
}

/** The v3 status for a v2 error code, or undefined if unknown. */
export function statusFromV2Code(v2Code: number): StatusCode | undefined {
  return BY_V2_CODE.get(v2Code)?.status;
}

/** The v2 error code for a v3 status; unknown statuses map to v2 EIO, the generic server failure. */
export function statusToV2Code(status: number): number {
  return BY_STATUS.get(status)?.v2Code ?? 101;
}

function describe(context: StatusErrorContext): string {
  const parts: string[] = [];
  if (context.operation !== undefined) parts.push(context.operation);
  if (context.ledgerId !== undefined) parts.push(`ledgerId=${context.ledgerId}`);
  if (context.entryId !== undefined) parts.push(`entryId=${context.entryId}`);
  if (context.bookieId !== undefined) parts.push(`bookieId=${context.bookieId}`);
  return parts.length === 0 ? '' : ` (${parts.join(' ')})`;
}

/**
 * The error for a non-OK status a bookie returned. A status the table does not know becomes a
 * non-retriable `UnknownStatus` error rather than a crash: a newer bookie may add codes.
 */
export function statusToError(status: number, context: StatusErrorContext = {}): BookieStatusError {
  assert.notEqual(status, StatusCode.EOK, 'statusToError called with EOK');
  const row = BY_STATUS.get(status);
  if (row === undefined) {
    return new BookieStatusError(
      status,
      'UnknownStatus',
      `bookie returned unknown status ${status}${describe(context)}`,
      false,
      context,
    );
  }
  return new BookieStatusError(
    status,
    row.code,
    `${row.name}: ${row.message}${describe(context)}`,
    row.retriable,
    context,
  );
}
