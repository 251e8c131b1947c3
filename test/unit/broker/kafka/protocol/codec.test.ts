import {
  ApiKey,
  KafkaProtocolError,
  KafkaReader,
  SUPPORTED_APIS,
  UnsupportedApiError,
  apiVersionsBody,
  decodeRequest,
  decodeResponse,
  encodeApiVersionsUnsupported,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
  isSupported,
} from '../../../../../broker/kafka/protocol';
import type { SupportedApiKey } from '../../../../../broker/kafka/protocol';
import { captureError } from '../../../../harness/capture-error';
import { INT32, STRING, array, field, readValue, struct } from '../../../../../broker/kafka/protocol/schema';
import { SAMPLES } from './samples';

const hex = (parts: string[]): string => parts.join('').replace(/\s+/g, '');
/** The frame after its 4-byte size prefix, checking the prefix says how many bytes follow. */
const unframe = (bytes: Buffer): Buffer => {
  expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
  return bytes.subarray(4);
};

// Typed loosely: a loop over every api key cannot name the body type of each.
const encodeRequestAny = encodeRequest as (h: object, body: unknown) => Buffer;
const encodeResponseAny = encodeResponse as (k: number, v: number, c: number, body: unknown) => Buffer;
const decodeResponseAny = decodeResponse as (
  k: number,
  v: number,
  f: Buffer,
) => { correlationId: number; body: unknown };

const EVERY_VERSION = SUPPORTED_APIS.flatMap((api) =>
  Array.from(
    { length: api.maxVersion - api.minVersion + 1 },
    (_, i) => [api.apiKey, api.minVersion + i] as const,
  ),
);

describe('broker > kafka > protocol > codec', () => {
  describe('SUPPORTED_APIS', () => {
    it('advertises exactly the version table of kafka.md §2', () => {
      expect(SUPPORTED_APIS.map((a) => [a.apiKey, a.minVersion, a.maxVersion])).toEqual([
        [0, 3, 3], // Produce
        [1, 4, 4], // Fetch
        [2, 1, 1], // ListOffsets
        [3, 0, 4], // Metadata
        [8, 2, 2], // OffsetCommit
        [9, 1, 3], // OffsetFetch
        [10, 0, 0], // FindCoordinator
        [11, 0, 2], // JoinGroup
        [12, 0, 1], // Heartbeat
        [13, 0, 1], // LeaveGroup
        [14, 0, 1], // SyncGroup
        [15, 0, 2], // DescribeGroups
        [16, 0, 2], // ListGroups
        [18, 0, 3], // ApiVersions
        [19, 0, 3], // CreateTopics
        [20, 0, 1], // DeleteTopics
      ]);
      expect(isSupported(ApiKey.Metadata, 4)).toBe(true);
      expect(isSupported(ApiKey.Metadata, 5)).toBe(false);
      expect(isSupported(ApiKey.SaslHandshake, 0)).toBe(false);
    });
  });

  describe('round trips', () => {
    it.each(EVERY_VERSION)(
      'api %i v%i: request and response decode to what was encoded',
      (apiKey, version) => {
        const sample = SAMPLES[apiKey as SupportedApiKey];
        const request = encodeRequestAny(
          { apiKey, apiVersion: version, correlationId: 77, clientId: 'c' },
          sample.request,
        );
        const decoded = decodeRequest(unframe(request));
        expect(decoded).toMatchObject({ apiKey, apiVersion: version, correlationId: 77, clientId: 'c' });
        // Decoding gives every field (defaults for those the version lacks); encoding it again gives the same bytes.
        expect(encodeRequestAny(decoded, decoded.body).equals(request)).toBe(true);

        const response = encodeResponseAny(apiKey, version, 78, sample.response);
        const back = decodeResponseAny(apiKey, version, unframe(response));
        expect(back.correlationId).toBe(78);
        expect(encodeResponseAny(apiKey, version, 78, back.body).equals(response)).toBe(true);

        const api = SUPPORTED_APIS.find((a) => a.apiKey === apiKey)!;
        if (version === api.maxVersion) {
          // Every declared field exists at the highest version we serve: nothing is lost.
          expect(decoded.body).toEqual(sample.request);
          expect(back.body).toEqual(sample.response);
        }
      },
    );

    it('fills the fields a lower version lacks with their defaults', () => {
      const metadataV0 = encodeResponse(ApiKey.Metadata, 0, 1, SAMPLES[ApiKey.Metadata].response);
      expect(decodeResponse(ApiKey.Metadata, 0, unframe(metadataV0)).body).toEqual({
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: 'broker-1.local', port: 9092, rack: null }],
        clusterId: null,
        controllerId: -1,
        topics: [
          {
            errorCode: 0,
            name: 'orders',
            isInternal: false,
            partitions: [
              { errorCode: 5, partitionIndex: 0, leaderId: 1, replicaNodes: [1, 2], isrNodes: [1] },
            ],
          },
        ],
      });
      const joinV0 = encodeRequest(
        { apiKey: ApiKey.JoinGroup, apiVersion: 0, correlationId: 1, clientId: null },
        SAMPLES[ApiKey.JoinGroup].request,
      );
      const join = decodeRequest(unframe(joinV0));
      expect(join.clientId).toBeNull();
      expect(join.apiKey === ApiKey.JoinGroup && join.body.rebalanceTimeoutMs).toBe(-1);
      const offsetFetchV1 = encodeResponse(ApiKey.OffsetFetch, 1, 1, SAMPLES[ApiKey.OffsetFetch].response);
      expect(decodeResponse(ApiKey.OffsetFetch, 1, unframe(offsetFetchV1)).body).toMatchObject({
        throttleTimeMs: 0,
        errorCode: 0,
      });
    });

    it('gives each decoded message its own default arrays', () => {
      const schema = struct({ id: field(INT32), tags: field(array(STRING), { versions: '1+' }) });
      const read = (): { id: number; tags: string[] } =>
        readValue(new KafkaReader(Buffer.from('00000001', 'hex')), schema, 0, false, '') as never;
      const first = read();
      first.tags.push('changed');
      expect(read()).toEqual({ id: 1, tags: [] });
    });

    it('writes defaults for the fields a response leaves out', () => {
      const bytes = encodeResponse(ApiKey.Produce, 3, 9, {
        responses: [{ name: 't', partitionResponses: [{ index: 0, baseOffset: 5n }] }],
      });
      expect(decodeResponse(ApiKey.Produce, 3, unframe(bytes)).body).toEqual({
        responses: [
          {
            name: 't',
            partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 5n, logAppendTimeMs: -1n }],
          },
        ],
        throttleTimeMs: 0,
      });
    });

    it('keeps a large records field as a view of the frame, not a copy', () => {
      const records = Buffer.alloc(5000, 7);
      const frame = unframe(
        encodeRequest(
          { apiKey: ApiKey.Produce, apiVersion: 3, correlationId: 1, clientId: 'k' },
          {
            transactionalId: null,
            acks: 1,
            timeoutMs: 1000,
            topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
          },
        ),
      );
      const request = decodeRequest(frame);
      if (request.apiKey !== ApiKey.Produce) throw new Error('not a Produce request');
      const got = request.body.topicData[0]!.partitionData[0]!.records!;
      expect(got.equals(records)).toBe(true);
      expect(got.buffer).toBe(frame.buffer);
    });
    it('gives a response as chunks for writev, the large records uncopied', () => {
      const records = Buffer.alloc(2048, 3);
      const body = {
        responses: [
          {
            topic: 't',
            partitions: [{ partitionIndex: 0, highWatermark: 1n, lastStableOffset: 1n, records }],
          },
        ],
      };
      const chunks = encodeResponseChunks(ApiKey.Fetch, 4, 8, body);
      expect(chunks).toContain(records);
      expect(Buffer.concat(chunks).equals(encodeResponse(ApiKey.Fetch, 4, 8, body))).toBe(true);
    });
  });

  describe('golden bytes', () => {
    it('ApiVersions v0 request (kafka-python) and v3 request (librdkafka, header v2, compact strings)', () => {
      const v0 = hex(['00000011', '0012 0000 00000001', '0007 6b61666b616a73']);
      expect(
        encodeRequest(
          { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 1, clientId: 'kafkajs' },
          {},
        ).toString('hex'),
      ).toBe(v0);
      const v3 = hex([
        '00000024',
        '0012 0003 00000002',
        '0007 72646b61666b61', // client_id 'rdkafka', a classic string even in header v2
        '00', // header tagged fields
        '0b 6c696272646b61666b61', // compact 'librdkafka'
        '06 322e302e32', // compact '2.0.2'
        '00', // body tagged fields
      ]);
      const request = decodeRequest(Buffer.from(v3, 'hex').subarray(4));
      expect(request).toEqual({
        apiKey: 18,
        apiVersion: 3,
        correlationId: 2,
        clientId: 'rdkafka',
        body: { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
      });
      expect(encodeRequest(request as never, request.body as never).toString('hex')).toBe(v3);
    });

    it('skips tagged fields a flexible request carries in its header and body', () => {
      const frame = Buffer.from(
        hex([
          '0012 0003 00000002 0007 72646b61666b61',
          '02 00 01 ff 03 02 abcd', // header: tags 0 and 3
          '0b 6c696272646b61666b61 06 322e302e32',
          '01 07 00', // body: tag 7, empty
        ]),
        'hex',
      );
      expect(decodeRequest(frame).body).toEqual({
        clientSoftwareName: 'librdkafka',
        clientSoftwareVersion: '2.0.2',
      });
    });

    const table = (compact: boolean): string =>
      SUPPORTED_APIS.map(
        (a) =>
          a.apiKey.toString(16).padStart(4, '0') +
          a.minVersion.toString(16).padStart(4, '0') +
          a.maxVersion.toString(16).padStart(4, '0') +
          (compact ? '00' : ''),
      ).join('');

    it('ApiVersions v0 and v3 responses: header v0 both times, the v3 body compact with tagged sections', () => {
      const v0 = encodeResponse(ApiKey.ApiVersions, 0, 5, apiVersionsBody());
      expect(v0.toString('hex')).toBe(
        hex([
          (4 + 2 + 4 + 16 * 6).toString(16).padStart(8, '0'),
          '00000005',
          '0000',
          '00000010',
          table(false),
        ]),
      );
      const v3 = encodeResponse(ApiKey.ApiVersions, 3, 5, apiVersionsBody());
      expect(v3.toString('hex')).toBe(
        hex([
          (4 + 2 + 1 + 16 * 7 + 4 + 1).toString(16).padStart(8, '0'),
          '00000005', // response header v0: no tagged section, even though v3 is flexible
          '0000',
          '11', // compact array: 16 + 1
          table(true),
          '00000000', // throttle_time_ms
          '00', // body tagged fields
        ]),
      );
    });

    it('ApiVersions with a version above ours: error 35 and the full table in a v0 body', () => {
      const frame = Buffer.from(
        hex(['0012 0004 0000002a', '0007 72646b61666b61', '00', '0b6c696272646b61666b61 06322e302e32 00']),
        'hex',
      );
      const err = captureError(() => decodeRequest(frame));
      expect(err).toBeInstanceOf(UnsupportedApiError);
      expect(err).toMatchObject({ apiKey: 18, apiVersion: 4, correlationId: 42, code: 'UnsupportedApi' });
      const answer = encodeApiVersionsUnsupported(42);
      expect(answer.toString('hex')).toBe(
        hex([
          (4 + 2 + 4 + 16 * 6).toString(16).padStart(8, '0'),
          '0000002a',
          '0023',
          '00000010',
          table(false),
        ]),
      );
    });

    it('Metadata v4 response', () => {
      const bytes = encodeResponse(ApiKey.Metadata, 4, 3, {
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        clusterId: 'c',
        controllerId: 1,
        topics: [
          {
            name: 't',
            partitions: [{ partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
          },
        ],
      });
      const body = hex([
        '00000003', // correlation id
        '00000000', // throttle_time_ms
        '00000001 00000001 0001 68 00002384 ffff', // brokers: [node 1, 'h', 9092, rack null]
        '0001 63', // cluster_id 'c'
        '00000001', // controller_id
        '00000001 0000 0001 74 00', // topics: [error 0, 't', is_internal false,
        '00000001 0000 00000000 00000001 00000001 00000001 00000001 00000001', // partitions: [0, leader 1, [1], [1]]]
      ]);
      expect(bytes.toString('hex')).toBe((body.length / 2).toString(16).padStart(8, '0') + body);
    });

    it('Produce v3 request', () => {
      const body = hex([
        '0000 0003 00000007 0001 6b', // header v1: Produce v3, correlation 7, client 'k'
        'ffff', // transactional_id null
        'ffff', // acks -1
        '00007530', // timeout_ms 30000
        '00000001 0001 74', // topic_data: ['t',
        '00000001 00000000 00000004 deadbeef', // [partition 0, records (4 bytes)]]
      ]);
      const frame = (body.length / 2).toString(16).padStart(8, '0') + body;
      const request = decodeRequest(Buffer.from(frame, 'hex').subarray(4));
      expect(request).toEqual({
        apiKey: 0,
        apiVersion: 3,
        correlationId: 7,
        clientId: 'k',
        body: {
          transactionalId: null,
          acks: -1,
          timeoutMs: 30000,
          topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('deadbeef', 'hex') }] }],
        },
      });
      expect(encodeRequest(request as never, request.body as never).toString('hex')).toBe(frame);
    });
  });

  describe('what the server refuses', () => {
    const header = (apiKey: number, version: number): Buffer => {
      const bytes = Buffer.from(hex(['0000 0000 00000009 ffff']), 'hex');
      bytes.writeInt16BE(apiKey, 0);
      bytes.writeInt16BE(version, 2);
      return bytes;
    };

    it('an unknown api key or unsupported version is an UnsupportedApiError carrying the header', () => {
      for (const [key, version] of [
        [17, 0], // SaslHandshake: not served
        [0x7fff, 0],
        [ApiKey.Produce, 2],
        [ApiKey.Fetch, 11],
        [ApiKey.Metadata, -1],
      ] as const) {
        const caught = captureError(() => decodeRequest(header(key, version)));
        expect(caught).toBeInstanceOf(UnsupportedApiError);
        expect(caught).toMatchObject({ apiKey: key, apiVersion: version, correlationId: 9 });
      }
    });

    it('a frame too short for the header, a truncated body or trailing bytes is MalformedFrame', () => {
      const good = unframe(
        encodeRequest(
          { apiKey: ApiKey.Heartbeat, apiVersion: 1, correlationId: 1, clientId: 'x' },
          SAMPLES[ApiKey.Heartbeat].request,
        ),
      );
      for (const frame of [
        Buffer.alloc(0),
        good.subarray(0, 7),
        good.subarray(0, good.length - 1),
        Buffer.concat([good, Buffer.from([0])]),
      ]) {
        const err = captureError(() => decodeRequest(frame));
        expect(err).toBeInstanceOf(KafkaProtocolError);
        expect(err).not.toBeInstanceOf(UnsupportedApiError);
        expect(err).toMatchObject({ code: 'MalformedFrame' });
      }
      expect(() => decodeRequest(Buffer.concat([good, Buffer.from([0])]))).toThrow(
        /1 bytes after the body \(at byte 23\) in Heartbeat v1 request/,
      );
    });

    it('a null where the version allows none is MalformedFrame (Metadata v0 topics)', () => {
      const frame = Buffer.from(hex(['0003 0000 00000001 ffff', 'ffffffff']), 'hex');
      expect(() => decodeRequest(frame)).toThrow(/topics is null, which version 0 does not allow/);
      const v1 = decodeRequest(Buffer.from(hex(['0003 0001 00000001 ffff', 'ffffffff']), 'hex'));
      expect(v1.body).toEqual({ topics: null, allowAutoTopicCreation: true });
    });

    it('an array count larger than the bytes left fails before reading elements', () => {
      const frame = Buffer.from(hex(['0003 0001 00000001 ffff', '7fffffff']), 'hex');
      expect(() => decodeRequest(frame)).toThrow(/array of 2147483647 needs at least/);
    });
  });

  describe('encoding bad values', () => {
    it('names the field that cannot hold the value', () => {
      expect(() => encodeResponse(ApiKey.Heartbeat, 1, 1, { errorCode: 70000 })).toThrow(
        /70000 is not an int16 at Heartbeat v1 response.errorCode/,
      );
      expect(() =>
        encodeResponse(ApiKey.Metadata, 0, 1, {
          brokers: [],
          clusterId: null,
          topics: [{ name: 'x'.repeat(40000), partitions: [] }],
        }),
      ).toThrow(/at Metadata v0 response.topics\[0\].name/);
      expect(() =>
        encodeRequest(
          { apiKey: ApiKey.Metadata, apiVersion: 0, correlationId: 1, clientId: null },
          { topics: null },
        ),
      ).toThrow(/non-null in version 0 at Metadata v0 request.topics/);
      expect(() => encodeResponse(ApiKey.Produce, 9 as number, 1, { responses: [] })).toThrow(
        UnsupportedApiError,
      );
    });
  });
});
