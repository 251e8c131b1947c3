/**
 * The v3 message codec against its reference: every request and response type round-trips, the hand-written
 * codec and protobufjs produce identical bytes and accept each other's, and one framed AddRequest is checked
 * byte by byte.
 */
import fc from 'fast-check';
import {
  AddRequestFlag,
  FrameError,
  GetBookieInfoFlag,
  MessageDecodeError,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  StatusCode,
  WriteFlag,
  decodeAddRequest,
  decodeAddResponse,
  decodeAuthMessage,
  decodePacketHeader,
  decodeReadRequest,
  decodeReadResponse,
  decodeRequest,
  decodeResponse,
  encodeAddRequest,
  encodeAddRequestFrameParts,
  encodeResponseFrameInto,
  encodeAddResponse,
  encodeAuthMessage,
  encodeFrame,
  encodePacketHeader,
  encodeReadRequest,
  encodeReadResponse,
  encodeRequest,
  encodeRequestFrame,
  encodeResponse,
  encodeResponseFrame,
  readAddResponse,
  referenceCodec,
} from '../../../protocol';
import type { AddResponseSummary, BKPacketHeader, Request, Response } from '../../../protocol';
import * as arb from './arbitraries';
import { captureError } from '../../harness';

const KEY = Buffer.alloc(20, 0x5a);

function header(operation: OperationType, txnId = 42n): BKPacketHeader {
  return { version: ProtocolVersion.VERSION_THREE, operation, txnId };
}

/** One realistic request per operation, with every optional field set somewhere. */
const REQUESTS: Record<string, Request> = {
  'READ_ENTRY (fence)': {
    header: { ...header(OperationType.READ_ENTRY), priority: 100 },
    readRequest: { flag: ReadRequestFlag.FENCE_LEDGER, ledgerId: 7n, entryId: -1n, masterKey: KEY },
  },
  'READ_ENTRY (long poll)': {
    header: header(OperationType.READ_ENTRY),
    readRequest: {
      flag: ReadRequestFlag.ENTRY_PIGGYBACK,
      ledgerId: 7n,
      entryId: -1n,
      previousLAC: 41n,
      timeOut: 10_000n,
    },
  },
  ADD_ENTRY: {
    header: header(OperationType.ADD_ENTRY, 1n << 40n),
    addRequest: {
      flag: AddRequestFlag.RECOVERY_ADD,
      ledgerId: 7n,
      entryId: 42n,
      masterKey: KEY,
      body: Buffer.from('packed entry bytes'),
      writeFlags: WriteFlag.DEFERRED_SYNC,
    },
    requestContext: [{ key: 'traceId', value: 'abc' }],
  },
  AUTH: {
    header: header(OperationType.AUTH),
    authRequest: { authPluginName: 'AuthDisabledPlugin', payload: Buffer.from([1, 2, 3]) },
  },
  WRITE_LAC: {
    header: header(OperationType.WRITE_LAC),
    writeLacRequest: { ledgerId: 7n, lac: 41n, masterKey: KEY, body: Buffer.alloc(20, 1) },
  },
  READ_LAC: { header: header(OperationType.READ_LAC), readLacRequest: { ledgerId: 7n } },
  GET_BOOKIE_INFO: {
    header: header(OperationType.GET_BOOKIE_INFO),
    getBookieInfoRequest: {
      requested: BigInt(GetBookieInfoFlag.TOTAL_DISK_CAPACITY | GetBookieInfoFlag.FREE_DISK_SPACE),
    },
  },
  START_TLS: { header: header(OperationType.START_TLS), startTLSRequest: {} },
  FORCE_LEDGER: { header: header(OperationType.FORCE_LEDGER), forceLedgerRequest: { ledgerId: 7n } },
  GET_LIST_OF_ENTRIES_OF_LEDGER: {
    header: header(OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER),
    getListOfEntriesOfLedgerRequest: { ledgerId: 7n },
  },
};

const RESPONSES: Record<string, Response> = {
  READ_ENTRY: {
    header: header(OperationType.READ_ENTRY),
    status: StatusCode.EOK,
    readResponse: {
      status: StatusCode.EOK,
      ledgerId: 7n,
      entryId: 42n,
      body: Buffer.from('entry'),
      maxLAC: 41n,
      lacUpdateTimestamp: 1_700_000_000_000n,
    },
  },
  'READ_ENTRY (no entry)': {
    header: header(OperationType.READ_ENTRY),
    status: StatusCode.ENOENTRY,
    readResponse: { status: StatusCode.ENOENTRY, ledgerId: 7n, entryId: 43n },
  },
  ADD_ENTRY: {
    header: header(OperationType.ADD_ENTRY),
    status: StatusCode.EOK,
    addResponse: { status: StatusCode.EOK, ledgerId: 7n, entryId: 42n },
  },
  AUTH: {
    header: header(OperationType.AUTH),
    status: StatusCode.EOK,
    authResponse: { authPluginName: 'AuthDisabledPlugin', payload: Buffer.alloc(0) },
  },
  WRITE_LAC: {
    header: header(OperationType.WRITE_LAC),
    status: StatusCode.EREADONLY,
    writeLacResponse: { status: StatusCode.EREADONLY, ledgerId: 7n },
  },
  READ_LAC: {
    header: header(OperationType.READ_LAC),
    status: StatusCode.EOK,
    readLacResponse: {
      status: StatusCode.EOK,
      ledgerId: 7n,
      lacBody: Buffer.alloc(20, 2),
      lastEntryBody: Buffer.alloc(40, 3),
    },
  },
  GET_BOOKIE_INFO: {
    header: header(OperationType.GET_BOOKIE_INFO),
    status: StatusCode.EOK,
    getBookieInfoResponse: {
      status: StatusCode.EOK,
      totalDiskCapacity: 1n << 40n,
      freeDiskSpace: 1n << 39n,
      journalIoUtil: 12,
      ledgerIoUtil: 34,
      cpuUsedRate: 56,
      writeBytePerSecond: 123_456_789n,
    },
  },
  START_TLS: { header: header(OperationType.START_TLS), status: StatusCode.EOK, startTLSResponse: {} },
  FORCE_LEDGER: {
    header: header(OperationType.FORCE_LEDGER),
    status: StatusCode.EOK,
    forceLedgerResponse: { status: StatusCode.EOK, ledgerId: 7n },
  },
  GET_LIST_OF_ENTRIES_OF_LEDGER: {
    header: header(OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER),
    status: StatusCode.EOK,
    getListOfEntriesOfLedgerResponse: {
      status: StatusCode.EOK,
      ledgerId: 7n,
      availabilityOfEntriesOfLedger: Buffer.alloc(64 + 24),
    },
  },
};

describe('protocol > codec > requests', () => {
  it.each(Object.entries(REQUESTS))(
    '%s round-trips and matches protobufjs byte for byte',
    (_name, request) => {
      const bytes = encodeRequest(request);
      expect(bytes).toEqual(referenceCodec.encodeRequest(request));
      expect(decodeRequest(bytes)).toEqual(request);
      expect(referenceCodec.decodeRequest(bytes)).toEqual(request);
    },
  );

  it('any request: same bytes as protobufjs, and each decodes the other', () => {
    fc.assert(
      fc.property(arb.request, (request) => {
        const ours = encodeRequest(request);
        expect(ours).toEqual(referenceCodec.encodeRequest(request));
        expect(decodeRequest(ours)).toEqual(request);
        expect(referenceCodec.decodeRequest(ours)).toEqual(request);
      }),
      { numRuns: 300 },
    );
  });
});

describe('protocol > codec > responses', () => {
  it.each(Object.entries(RESPONSES))(
    '%s round-trips and matches protobufjs byte for byte',
    (_name, response) => {
      const bytes = encodeResponse(response);
      expect(bytes).toEqual(referenceCodec.encodeResponse(response));
      expect(decodeResponse(bytes)).toEqual(response);
      expect(referenceCodec.decodeResponse(bytes)).toEqual(response);
    },
  );

  it('any response: same bytes as protobufjs, and each decodes the other', () => {
    fc.assert(
      fc.property(arb.response, (response) => {
        const ours = encodeResponse(response);
        expect(ours).toEqual(referenceCodec.encodeResponse(response));
        expect(decodeResponse(ours)).toEqual(response);
        expect(referenceCodec.decodeResponse(ours)).toEqual(response);
      }),
      { numRuns: 300 },
    );
  });
});

describe('protocol > codec > add frames (the fast path of add-codec.ts)', () => {
  const frame = (payload: Buffer): Buffer => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(payload.length, 0);
    return Buffer.concat([prefix, payload]);
  };

  it('a framed header + AddRequest is byte for byte what protobufjs writes', () => {
    fc.assert(
      fc.property(arb.header, arb.addRequest, (header, addRequest) => {
        const request: Request = { header, addRequest };
        const ours = encodeRequestFrame(request);
        expect(ours).toEqual(frame(referenceCodec.encodeRequest(request)));
        expect(decodeRequest(ours.subarray(4))).toEqual(request);
      }),
      { numRuns: 500 },
    );
  });

  it('a framed header + status + AddResponse is byte for byte what protobufjs writes', () => {
    fc.assert(
      fc.property(arb.header, arb.addResponse, (header, addResponse) => {
        const response: Response = { header, status: addResponse.status, addResponse };
        const ours = encodeResponseFrame(response);
        expect(ours).toEqual(frame(referenceCodec.encodeResponse(response)));
        expect(decodeResponse(ours.subarray(4))).toEqual(response);
      }),
      { numRuns: 500 },
    );
  });

  describe('readAddResponse (the client reads add answers without decoding them)', () => {
    const summary = (): AddResponseSummary => ({ txnId: -1, operation: -1, status: -1 });
    /** What a PendingAdd takes from the whole decoded response. */
    const expected = (response: Response) => ({
      txnId: Number(response.header.txnId),
      operation: response.header.operation,
      status: response.addResponse?.status ?? response.status,
    });
    const plainInt32 = (value: number | undefined) =>
      value === undefined || (value >= 0 && value <= 0x7fff_ffff);

    it('reads every plain add answer, and agrees with decodeResponse on whatever it reads', () => {
      const addAnswer = fc.record(
        { header: arb.header, status: arb.response.map((r) => r.status), addResponse: arb.addResponse },
        { requiredKeys: ['header', 'status'] },
      );
      fc.assert(
        fc.property(fc.oneof(arb.response, addAnswer), (response) => {
          const payload = encodeResponse(response);
          const into = summary();
          const read = readAddResponse(payload, into);
          const onlyAddFields = Object.entries(response).every(
            ([key, value]) => value === undefined || ['header', 'status', 'addResponse'].includes(key),
          );
          const plain =
            onlyAddFields &&
            response.header.txnId <= BigInt(Number.MAX_SAFE_INTEGER) &&
            plainInt32(response.header.priority) &&
            plainInt32(response.status) &&
            plainInt32(response.addResponse?.status);
          expect(read).toBe(plain);
          if (read) expect(into).toEqual(expected(decodeResponse(payload)));
        }),
        { numRuns: 2000 },
      );
    });

    it('accepts damaged bytes only where decodeResponse reads the same answer from them', () => {
      fc.assert(
        fc.property(
          arb.header,
          arb.addResponse,
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
          fc.nat(),
          (header, addResponse, flips, cut) => {
            const whole = encodeResponse({ header, status: StatusCode.EOK, addResponse });
            const payload = Buffer.from(
              whole.subarray(0, whole.length - (cut % 3 === 0 ? cut % whole.length : 0)),
            );
            for (const [at, value] of flips) payload[at % payload.length] = value;
            const into = summary();
            if (!readAddResponse(payload, into)) return;
            expect(into).toEqual(expected(decodeResponse(payload)));
          },
        ),
        { numRuns: 5000 },
      );
    });
  });

  it('an add frame in parts (body head + tail) is, joined, the frame of the whole body, the tail never copied', () => {
    fc.assert(
      fc.property(arb.header, arb.addRequest, fc.integer({ min: 0, max: 48 }), (header, addRequest, cut) => {
        const at = Math.min(cut, addRequest.body.length);
        const head = addRequest.body.subarray(0, at);
        const tail = addRequest.body.subarray(at);
        const parts = encodeAddRequestFrameParts(header, addRequest, head, tail);
        expect(parts).toContain(tail);
        expect(Buffer.concat(parts)).toEqual(encodeRequestFrame({ header, addRequest }));
      }),
      { numRuns: 500 },
    );
  });

  it('an add frame over the frame limit is refused before it is built', () => {
    const request: Request = {
      header: { version: 3, operation: 2, txnId: 1n },
      addRequest: { ledgerId: 1n, entryId: 0n, masterKey: Buffer.alloc(20), body: Buffer.alloc(4096) },
    };
    expect(captureError(() => encodeRequestFrame(request, 1024))).toMatchObject({ name: 'FrameError' });
  });
});

describe('protocol > codec > response frames in parts (large bytes fields not copied)', () => {
  it('any response: the parts joined are the whole frame, and every bytes field at the threshold is a part itself', () => {
    fc.assert(
      fc.property(arb.response, fc.integer({ min: 0, max: 64 }), (response, threshold) => {
        const parts: Buffer[] = [];
        const bytes = encodeResponseFrameInto(response, parts, threshold);
        const whole = encodeResponseFrame(response);
        expect(bytes).toBe(whole.length);
        expect(Buffer.concat(parts)).toEqual(whole);
        const body = response.readResponse?.body;
        if (body !== undefined && body !== null && body.length >= threshold)
          expect(parts.some((part) => part === body)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a read of a large entry goes out as [envelope, the entry itself, the fields after it]', () => {
    const body = Buffer.alloc(100_000, 3);
    const response: Response = {
      header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.READ_ENTRY, txnId: 9n },
      status: StatusCode.EOK,
      readResponse: { status: StatusCode.EOK, ledgerId: 1n, entryId: 2n, body, maxLAC: 2n },
    };
    const parts: Buffer[] = [Buffer.from('already queued')];
    encodeResponseFrameInto(response, parts, 64 * 1024);
    expect(parts).toHaveLength(4);
    expect(parts[2]).toBe(body);
    expect(decodeResponse(Buffer.concat(parts.slice(1)).subarray(4))).toEqual(response);
    // The copying encoder is unaffected afterwards.
    expect(encodeResponseFrame(response).includes(body)).toBe(true);
  });

  it('a response over the frame limit is refused before anything is queued', () => {
    const response: Response = {
      header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.READ_ENTRY, txnId: 9n },
      status: StatusCode.EOK,
      readResponse: { status: StatusCode.EOK, ledgerId: 1n, entryId: 2n, body: Buffer.alloc(4096) },
    };
    const parts: Buffer[] = [];
    expect(captureError(() => encodeResponseFrameInto(response, parts, 1024, 1024))).toBeInstanceOf(
      FrameError,
    );
    expect(parts).toEqual([]);
  });
});

describe('protocol > codec > sub-messages', () => {
  it('AddRequest, ReadRequest, AddResponse, ReadResponse, AuthMessage and the header have paired codecs', () => {
    fc.assert(
      fc.property(
        arb.addRequest,
        arb.readRequest,
        arb.addResponse,
        arb.readResponse,
        arb.authMessage,
        arb.header,
        (add, read, addResponse, readResponse, auth, hdr) => {
          expect(decodeAddRequest(encodeAddRequest(add))).toEqual(add);
          expect(decodeReadRequest(encodeReadRequest(read))).toEqual(read);
          expect(decodeAddResponse(encodeAddResponse(addResponse))).toEqual(addResponse);
          expect(decodeReadResponse(encodeReadResponse(readResponse))).toEqual(readResponse);
          expect(decodeAuthMessage(encodeAuthMessage(auth))).toEqual(auth);
          expect(decodePacketHeader(encodePacketHeader(hdr))).toEqual(hdr);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('protocol > codec > 64-bit fields', () => {
  it.each([
    ['0', 0n, 1],
    ['127', 127n, 1],
    ['128', 128n, 2],
    ['2^53 - 1 (largest exact double)', (1n << 53n) - 1n, 8],
    ['2^53', 1n << 53n, 8],
    ['2^63 - 1', arb.INT64_MAX, 9],
    ['-1 (entryId of a last-entry read)', -1n, 10],
    ['-2^63', arb.INT64_MIN, 10],
  ])('entryId %s is exact as a bigint and takes the protobuf varint size', (_name, entryId, varintBytes) => {
    const bytes = encodeReadRequest({ ledgerId: 1n, entryId });
    // ledgerId: key + 1 byte; entryId: key + varint.
    expect(bytes.length).toBe(2 + 1 + varintBytes);
    expect(decodeReadRequest(bytes).entryId).toBe(entryId);
  });

  it('txnId covers the whole uint64 range', () => {
    for (const txnId of [0n, (1n << 32n) - 1n, 1n << 32n, arb.UINT64_MAX]) {
      const hdr = { version: ProtocolVersion.VERSION_THREE, operation: OperationType.ADD_ENTRY, txnId };
      expect(decodePacketHeader(encodePacketHeader(hdr)).txnId).toBe(txnId);
    }
  });
});

describe('protocol > codec > decoding rules', () => {
  const add = REQUESTS['ADD_ENTRY']!;

  it('bytes fields are slices of the frame, not copies', () => {
    const bytes = encodeRequest(add);
    const decoded = decodeRequest(bytes);
    expect(decoded.addRequest!.body.buffer).toBe(bytes.buffer);
  });

  it('skips fields it does not know, of every supported wire type', () => {
    const known = encodeReadLacOnly();
    // field 15 varint 300, field 16 fixed64, field 17 length-delimited "xyz", field 18 fixed32
    const unknown = Buffer.from([
      0x78, 0xac, 0x02, 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x01, 3, 0x78, 0x79, 0x7a, 0x95, 0x01, 1, 2,
      3, 4,
    ]);
    expect(decodeRequest(Buffer.concat([unknown, known]))).toEqual(decodeRequest(known));
  });

  it('accepts fields in any order', () => {
    // ReadLacRequest { ledgerId: 7 } first, then the header: the reverse of encoding order.
    const inner = Buffer.from([0x08, 0x07]);
    const hdr = Buffer.from([0x08, 0x03, 0x10, 0x07, 0x18, 0x2a]);
    const reversed = Buffer.concat([
      Buffer.from([0xc2, 0x06, inner.length]),
      inner,
      Buffer.from([0x0a, hdr.length]),
      hdr,
    ]);
    expect(decodeRequest(reversed)).toEqual(REQUESTS['READ_LAC']);
  });

  it('keeps an enum value it does not know, so the bookie can answer EBADREQ with the txnId', () => {
    const request: Request = {
      header: { version: ProtocolVersion.VERSION_THREE, operation: 77 as OperationType, txnId: 9n },
    };
    const bytes = encodeRequest(request);
    expect(bytes).toEqual(referenceCodec.encodeRequest(request));
    expect(decodeRequest(bytes).header.operation).toBe(77);
    // protobufjs, like protobuf-java, drops an unknown value of a closed enum, which then fails the
    // required-field check: the one place where we knowingly accept more than the reference.
    expect(() => referenceCodec.decodeRequest(bytes)).toThrow(MessageDecodeError);
    const response: Response = { header: request.header, status: StatusCode.EBADREQ };
    expect(decodeResponse(encodeResponse(response))).toEqual(response);
  });

  it('rejects a frame without the required header as a MessageDecodeError', () => {
    const error = captureError(() => decodeRequest(Buffer.from([0xc2, 0x06, 0x02, 0x08, 0x07])));
    expect(error).toBeInstanceOf(MessageDecodeError);
    expect(error).toMatchObject({ code: 'MalformedMessage', messageType: 'Request' });
    expect((error as Error).message).toContain('missing required field header');
  });

  it('rejects an empty frame (a Request needs a header)', () => {
    expect(() => decodeRequest(Buffer.alloc(0))).toThrow(MessageDecodeError);
  });

  function encodeReadLacOnly(): Buffer {
    return encodeRequest(REQUESTS['READ_LAC']!);
  }
});

describe('protocol > codec > frames', () => {
  it('encodeRequestFrame is the length prefix and the request in one buffer', () => {
    for (const request of Object.values(REQUESTS)) {
      expect(encodeRequestFrame(request)).toEqual(encodeFrame(encodeRequest(request)));
    }
    for (const response of Object.values(RESPONSES)) {
      expect(encodeResponseFrame(response)).toEqual(encodeFrame(encodeResponse(response)));
    }
  });

  it('refuses to encode a frame the peer would reject as too large', () => {
    const big: Request = {
      header: header(OperationType.ADD_ENTRY),
      addRequest: { ledgerId: 1n, entryId: 0n, masterKey: KEY, body: Buffer.alloc(1024) },
    };
    expect(() => encodeRequestFrame(big, 1000)).toThrow(FrameError);
    expect(encodeRequestFrame(big, 2000).length).toBeGreaterThan(1024);
  });

  it('golden bytes: a framed AddRequest, written out by hand', () => {
    const request: Request = {
      header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.ADD_ENTRY, txnId: 300n },
      addRequest: {
        flag: AddRequestFlag.RECOVERY_ADD,
        ledgerId: 1n,
        entryId: 0n,
        masterKey: Buffer.alloc(20, 0xab),
        body: Buffer.from('hi'),
        writeFlags: WriteFlag.DEFERRED_SYNC,
      },
    };
    // A key is (field number << 3) | wire type, as a varint; wire type 0 = varint, 2 = length-delimited.
    // Fields go out in ascending field number, so AddRequest.flag (100) comes last.
    // prettier-ignore
    const expected = Buffer.from([
      0x00, 0x00, 0x00, 0x2f,   // frame length 47 (big-endian int32) = 9 + 3 + 35 below
      // Request.header (1, LEN): key 1<<3|2 = 0x0a, length 7
      0x0a, 0x07,
      0x08, 0x03,             //   version (1, VARINT) = VERSION_THREE (3)
      0x10, 0x02,             //   operation (2, VARINT) = ADD_ENTRY (2)
      0x18, 0xac, 0x02,       //   txnId (3, VARINT) = 300: low 7 bits 0x2c | 0x80 = 0xac, then 300 >> 7 = 2
      // Request.addRequest (101, LEN): key 101<<3|2 = 810 = 0x32a -> varint 0xaa 0x06; length 35
      0xaa, 0x06, 0x23,
      0x08, 0x01,             //   ledgerId (1, VARINT) = 1
      0x10, 0x00,             //   entryId (2, VARINT) = 0
      0x1a, 0x14,             //   masterKey (3, LEN): key 0x1a, length 20, then 20 bytes of 0xab
      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
      0x22, 0x02, 0x68, 0x69, //   body (4, LEN): length 2, "hi"
      0x28, 0x01,             //   writeFlags (5, VARINT) = DEFERRED_SYNC (1)
      0xa0, 0x06, 0x01,       //   flag (100, VARINT): key 800 = 0x320 -> 0xa0 0x06; RECOVERY_ADD (1)
    ]);
    expect(expected.length).toBe(4 + 47);
    expect(encodeRequestFrame(request)).toEqual(expected);
    expect(encodeFrame(referenceCodec.encodeRequest(request))).toEqual(expected);
    expect(decodeRequest(expected.subarray(4))).toEqual(request);
  });
});
