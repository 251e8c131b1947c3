/**
 * protocol — the BookKeeper v3 wire codec: message types and codec, framing, status codes, packed entries
 * and digests. No sockets here; see README.md.
 */
export {
  ProtocolError,
  FrameError,
  MessageDecodeError,
  BookieStatusError,
  EntryVerificationError,
  DigestMismatchError,
  LedgerIdMismatchError,
  EntryIdMismatchError,
  MalformedEntryError,
} from './errors';
export type { StatusErrorContext, EntryVerificationCode } from './errors';

export {
  ProtocolVersion,
  OperationType,
  StatusCode,
  ReadRequestFlag,
  AddRequestFlag,
  WriteFlag,
  GetBookieInfoFlag,
  HIGH_PRIORITY,
  LAST_ADD_CONFIRMED,
} from './types';
export type {
  BKPacketHeader,
  ContextPair,
  Request,
  Response,
  ReadRequest,
  AddRequest,
  AuthMessage,
  StartTLSRequest,
  WriteLacRequest,
  ForceLedgerRequest,
  ReadLacRequest,
  GetBookieInfoRequest,
  GetListOfEntriesOfLedgerRequest,
  ReadResponse,
  AddResponse,
  WriteLacResponse,
  ForceLedgerResponse,
  ReadLacResponse,
  GetBookieInfoResponse,
  GetListOfEntriesOfLedgerResponse,
  StartTLSResponse,
} from './types';

export {
  encodeRequest,
  decodeRequest,
  encodeResponse,
  decodeResponse,
  encodeRequestFrame,
  encodeResponseFrame,
  encodeResponseFrameInto,
  encodeAddRequest,
  decodeAddRequest,
  encodeAddResponse,
  decodeAddResponse,
  encodeReadRequest,
  decodeReadRequest,
  encodeReadResponse,
  decodeReadResponse,
  encodeAuthMessage,
  decodeAuthMessage,
  encodePacketHeader,
  decodePacketHeader,
} from './codec';

export { localBookies } from './local-bookies';
export type { LocalBookieEndpoint } from './local-bookies';
export {
  encodeAddRequestFrame,
  encodeAddRequestFrameParts,
  encodeAddResponseFrame,
  readAddResponse,
} from './add-codec';
export type { AddResponseSummary } from './add-codec';
export { referenceCodec } from './reference-codec';
export { PROTOCOL_PROTO_PATH, protocolSchema } from './schema';

export {
  FRAME_LENGTH_BYTES,
  DEFAULT_MAX_FRAME_SIZE_BYTES,
  FrameDecoder,
  encodeFrame,
  encodeFrameHeader,
  checkFrameLength,
} from './frame';
export type { FrameDecoderOptions } from './frame';

export {
  STATUS_CODES,
  statusCodeInfo,
  statusToError,
  statusFromV2Code,
  statusToV2Code,
} from './status-codes';
export type { StatusCodeInfo } from './status-codes';

export {
  DigestType,
  DigestManager,
  digestLength,
  masterKey,
  readLedgerId,
  readEntryId,
  readLastAddConfirmed,
  ENTRY_METADATA_LENGTH,
  LAC_METADATA_LENGTH,
  MASTER_KEY_LENGTH,
} from './digest';
export type { VerifiedEntry, PackedEntryParts } from './digest';

export {
  EntriesAvailability,
  encodeEntriesAvailability,
  decodeEntriesAvailability,
  groupEntryIds,
  ENTRIES_AVAILABILITY_HEADER_BYTES,
  ENTRIES_AVAILABILITY_HEADER_VERSION,
  SEQUENCE_GROUP_BYTES,
} from './entries-availability';
export type { SequenceGroup } from './entries-availability';
