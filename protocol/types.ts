/**
 * The typed shape of every v3 message. Names follow BookkeeperProtocol.proto field for field.
 *
 * Conventions:
 * - Every int64/uint64 on the wire is a `bigint` here (ids, LACs, lengths, disk sizes, timestamps, the
 *   long-poll timeout), converted only inside the codec; 32-bit fields and enums are `number`.
 * - An optional proto field is an optional property: absent on the wire means `undefined` here, so a
 *   decoded message re-encodes to the same bytes.
 * - Enum fields carry the number as received. A value this version does not know is kept, not rejected, so
 *   a bookie can still answer an unknown operation with EBADREQ and the right txnId.
 * - `bytes` fields decode as Buffer slices of the frame (no copy): they stay valid as long as the frame does.
 */

export enum ProtocolVersion {
  VERSION_ONE = 1,
  VERSION_TWO = 2,
  VERSION_THREE = 3,
}

export enum OperationType {
  READ_ENTRY = 1,
  ADD_ENTRY = 2,
  RANGE_READ_ENTRY = 3,
  RANGE_ADD_ENTRY = 4,
  AUTH = 5,
  WRITE_LAC = 6,
  READ_LAC = 7,
  GET_BOOKIE_INFO = 8,
  START_TLS = 9,
  FORCE_LEDGER = 10,
  GET_LIST_OF_ENTRIES_OF_LEDGER = 11,
  BATCH_READ_ENTRY = 12,
}

export enum StatusCode {
  EOK = 0,
  ENOLEDGER = 402,
  ENOENTRY = 403,
  EBADREQ = 404,
  EIO = 501,
  EUA = 502,
  EBADVERSION = 503,
  EFENCED = 504,
  EREADONLY = 505,
  ETOOMANYREQUESTS = 506,
  EUNKNOWNLEDGERSTATE = 507,
}

/** ReadRequest.Flag: a single value, so a read fences or piggybacks, never both. */
export enum ReadRequestFlag {
  FENCE_LEDGER = 1,
  ENTRY_PIGGYBACK = 2,
}

/** AddRequest.Flag. */
export enum AddRequestFlag {
  RECOVERY_ADD = 1,
}

/** Bits of AddRequest.writeFlags (BookKeeper's WriteFlag). */
export enum WriteFlag {
  /** The bookie may acknowledge after writing to the journal, before fsync; ForceLedger is the barrier. */
  DEFERRED_SYNC = 1,
}

/** Bits of GetBookieInfoRequest.requested. */
export enum GetBookieInfoFlag {
  TOTAL_DISK_CAPACITY = 1,
  FREE_DISK_SPACE = 2,
}

/** The priority BookKeeper clients put on recovery traffic; anything above 0 is high priority. */
export const HIGH_PRIORITY = 100;

/** The entryId a ReadRequest uses to ask for the last entry a bookie has. */
export const LAST_ADD_CONFIRMED = -1n;

export interface BKPacketHeader {
  version: ProtocolVersion;
  operation: OperationType;
  /** uint64: matches a response to its request. */
  txnId: bigint;
  priority?: number;
}

export interface ContextPair {
  key: string;
  value: string;
}

export interface ReadRequest {
  flag?: ReadRequestFlag;
  ledgerId: bigint;
  entryId: bigint;
  masterKey?: Buffer;
  previousLAC?: bigint;
  timeOut?: bigint;
}

export interface AddRequest {
  flag?: AddRequestFlag;
  ledgerId: bigint;
  entryId: bigint;
  masterKey: Buffer;
  body: Buffer;
  writeFlags?: number;
}

export interface AuthMessage {
  authPluginName: string;
  payload: Buffer;
}

// Deliberately empty: START_TLS carries no fields, but the message must be present.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StartTLSRequest {}

export interface WriteLacRequest {
  ledgerId: bigint;
  lac: bigint;
  masterKey: Buffer;
  body: Buffer;
}

export interface ForceLedgerRequest {
  ledgerId: bigint;
}

export interface ReadLacRequest {
  ledgerId: bigint;
}

export interface GetBookieInfoRequest {
  requested?: bigint;
}

export interface GetListOfEntriesOfLedgerRequest {
  ledgerId: bigint;
}

export interface Request {
  header: BKPacketHeader;
  readRequest?: ReadRequest;
  addRequest?: AddRequest;
  authRequest?: AuthMessage;
  writeLacRequest?: WriteLacRequest;
  readLacRequest?: ReadLacRequest;
  getBookieInfoRequest?: GetBookieInfoRequest;
  startTLSRequest?: StartTLSRequest;
  forceLedgerRequest?: ForceLedgerRequest;
  getListOfEntriesOfLedgerRequest?: GetListOfEntriesOfLedgerRequest;
  requestContext?: ContextPair[];
}

export interface ReadResponse {
  status: StatusCode;
  ledgerId: bigint;
  entryId: bigint;
  body?: Buffer;
  maxLAC?: bigint;
  lacUpdateTimestamp?: bigint;
}

export interface AddResponse {
  status: StatusCode;
  ledgerId: bigint;
  entryId: bigint;
}

export interface WriteLacResponse {
  status: StatusCode;
  ledgerId: bigint;
}

export interface ForceLedgerResponse {
  status: StatusCode;
  ledgerId: bigint;
}

export interface ReadLacResponse {
  status: StatusCode;
  ledgerId: bigint;
  lacBody?: Buffer;
  lastEntryBody?: Buffer;
}

export interface GetBookieInfoResponse {
  status: StatusCode;
  totalDiskCapacity?: bigint;
  freeDiskSpace?: bigint;
  journalIoUtil?: number;
  ledgerIoUtil?: number;
  cpuUsedRate?: number;
  writeBytePerSecond?: bigint;
}

export interface GetListOfEntriesOfLedgerResponse {
  status: StatusCode;
  ledgerId: bigint;
  availabilityOfEntriesOfLedger?: Buffer;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StartTLSResponse {}

export interface Response {
  header: BKPacketHeader;
  status: StatusCode;
  readResponse?: ReadResponse;
  addResponse?: AddResponse;
  authResponse?: AuthMessage;
  writeLacResponse?: WriteLacResponse;
  readLacResponse?: ReadLacResponse;
  getBookieInfoResponse?: GetBookieInfoResponse;
  startTLSResponse?: StartTLSResponse;
  forceLedgerResponse?: ForceLedgerResponse;
  getListOfEntriesOfLedgerResponse?: GetListOfEntriesOfLedgerResponse;
}
