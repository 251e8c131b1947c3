/**
 * fast-check arbitraries for every v3 message, shared by the protocol tests. Optional fields are omitted (not
 * set to undefined) when absent, and repeated fields are absent or non-empty, so a decoded message compares
 * equal to the one that was encoded.
 */
import fc from 'fast-check';
import {
  AddRequestFlag,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  StatusCode,
} from '../../../protocol';
import type {
  AddRequest,
  AddResponse,
  AuthMessage,
  BKPacketHeader,
  ReadRequest,
  ReadResponse,
  Request,
  Response,
} from '../../../protocol';

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

/** Mostly small ids (the common case, 1-3 byte varints), sometimes -1, sometimes the full range. */
export const int64 = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 100_000n }) },
  { weight: 1, arbitrary: fc.constantFrom(-1n, INT64_MIN, INT64_MAX, 1n << 53n, (1n << 53n) - 1n) },
  { weight: 2, arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }) },
);
export const uint64 = fc.oneof(
  fc.bigInt({ min: 0n, max: 100_000n }),
  fc.bigInt({ min: 0n, max: UINT64_MAX }),
);
export const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
export const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const bytes = fc.uint8Array({ maxLength: 48 }).map((array) => Buffer.from(array));
export const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const status = fc.constantFrom(
  ...(Object.values(StatusCode).filter((v) => typeof v === 'number') as StatusCode[]),
);
const operation = fc.constantFrom(
  ...(Object.values(OperationType).filter((v) => typeof v === 'number') as OperationType[]),
);

export const header: fc.Arbitrary<BKPacketHeader> = fc.record(
  {
    version: fc.constantFrom(ProtocolVersion.VERSION_THREE, ProtocolVersion.VERSION_TWO),
    operation,
    txnId: uint64,
    priority: uint32,
  },
  { requiredKeys: ['version', 'operation', 'txnId'] },
);

export const readRequest: fc.Arbitrary<ReadRequest> = fc.record(
  {
    flag: fc.constantFrom(ReadRequestFlag.FENCE_LEDGER, ReadRequestFlag.ENTRY_PIGGYBACK),
    ledgerId: int64,
    entryId: int64,
    masterKey: bytes,
    previousLAC: int64,
    timeOut: int64,
  },
  { requiredKeys: ['ledgerId', 'entryId'] },
);

export const addRequest: fc.Arbitrary<AddRequest> = fc.record(
  {
    flag: fc.constant(AddRequestFlag.RECOVERY_ADD),
    ledgerId: int64,
    entryId: int64,
    masterKey: bytes,
    body: bytes,
    writeFlags: int32,
  },
  { requiredKeys: ['ledgerId', 'entryId', 'masterKey', 'body'] },
);

export const authMessage: fc.Arbitrary<AuthMessage> = fc.record({ authPluginName: text, payload: bytes });

export const request: fc.Arbitrary<Request> = fc.record(
  {
    header,
    readRequest,
    addRequest,
    authRequest: authMessage,
    writeLacRequest: fc.record({ ledgerId: int64, lac: int64, masterKey: bytes, body: bytes }),
    readLacRequest: fc.record({ ledgerId: int64 }),
    getBookieInfoRequest: fc.record({ requested: int64 }, { requiredKeys: [] }),
    startTLSRequest: fc.constant({}),
    forceLedgerRequest: fc.record({ ledgerId: int64 }),
    getListOfEntriesOfLedgerRequest: fc.record({ ledgerId: int64 }),
    requestContext: fc.array(fc.record({ key: text, value: text }), { minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: ['header'] },
);

export const readResponse: fc.Arbitrary<ReadResponse> = fc.record(
  { status, ledgerId: int64, entryId: int64, body: bytes, maxLAC: int64, lacUpdateTimestamp: int64 },
  { requiredKeys: ['status', 'ledgerId', 'entryId'] },
);

export const addResponse: fc.Arbitrary<AddResponse> = fc.record({ status, ledgerId: int64, entryId: int64 });

export const response: fc.Arbitrary<Response> = fc.record(
  {
    header,
    status,
    readResponse,
    addResponse,
    authResponse: authMessage,
    writeLacResponse: fc.record({ status, ledgerId: int64 }),
    readLacResponse: fc.record(
      { status, ledgerId: int64, lacBody: bytes, lastEntryBody: bytes },
      { requiredKeys: ['status', 'ledgerId'] },
    ),
    getBookieInfoResponse: fc.record(
      {
        status,
        totalDiskCapacity: int64,
        freeDiskSpace: int64,
        journalIoUtil: int32,
        ledgerIoUtil: int32,
        cpuUsedRate: int32,
        writeBytePerSecond: int64,
      },
      { requiredKeys: ['status'] },
    ),
    startTLSResponse: fc.constant({}),
    forceLedgerResponse: fc.record({ status, ledgerId: int64 }),
    getListOfEntriesOfLedgerResponse: fc.record(
      { status, ledgerId: int64, availabilityOfEntriesOfLedger: bytes },
      { requiredKeys: ['status', 'ledgerId'] },
    ),
  },
  { requiredKeys: ['header', 'status'] },
);
