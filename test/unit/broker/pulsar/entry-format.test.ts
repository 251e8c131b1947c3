import { deflateSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import {
  decodeBatchPayload,
  decodeMessageMetadata,
  encodeBatchPayload,
  encodeMessage,
  encodeMessageMetadata,
  parseEntry,
  readBrokerEntryIndex,
  uncompressPayload,
  withBrokerEntryMetadata,
} from '../../../../broker/pulsar';
import type { MessageMetadata } from '../../../../broker/pulsar';
import { expectFormatError, throwsOnlyFormatErrors } from './expect-format-error';

const plain = (overrides: Partial<MessageMetadata> = {}): MessageMetadata => ({
  producerName: 'p',
  sequenceId: 0n,
  publishTime: 1000,
  properties: new Map(),
  ...overrides,
});

// Worked out by hand from Pulsar's layout; the CRC32C from an independent bit-by-bit implementation (Python,
// reflected polynomial 0x82F63B78, which gives the standard check value 0xE3069283 for "123456789").
const GOLDEN_BEM = '0e02' + '00000004' + '0801' + '1000';
const GOLDEN_MESSAGE = '0e01' + '16f2f2f7' + '00000008' + '0a0170' + '1000' + '18e807' + '6869';

describe('broker > pulsar > entry-format', () => {
  describe('golden bytes', () => {
    it('encodes a message as [0x0e01][CRC32C][metadata size][MessageMetadata][payload]', () => {
      expect(encodeMessage(plain(), Buffer.from('hi')).toString('hex')).toBe(GOLDEN_MESSAGE);
    });

    it('prepends [0x0e02][size][BrokerEntryMetadata {broker_timestamp, index}]', () => {
      const entry = withBrokerEntryMetadata(Buffer.from(GOLDEN_MESSAGE, 'hex'), {
        brokerTimestamp: 1,
        index: 0n,
      });
      expect(entry.toString('hex')).toBe(GOLDEN_BEM + GOLDEN_MESSAGE);
    });

    it('parses the golden entry', () => {
      const data = Buffer.from(GOLDEN_BEM + GOLDEN_MESSAGE, 'hex');
      const parsed = parseEntry(data);
      expect(parsed.brokerEntryMetadata).toEqual({ brokerTimestamp: 1, index: 0n });
      expect(parsed.metadata).toEqual(plain());
      expect(parsed.payload.toString()).toBe('hi');
      expect(parsed.numMessages).toBe(1);
      expect(parsed.message.toString('hex')).toBe(GOLDEN_MESSAGE);
      expect(readBrokerEntryIndex(data)).toBe(0n);
    });

    it('parses a message without broker entry metadata', () => {
      const parsed = parseEntry(Buffer.from(GOLDEN_MESSAGE, 'hex'));
      expect(parsed.brokerEntryMetadata).toBeUndefined();
      expect(parsed.payload.toString()).toBe('hi');
      expect(readBrokerEntryIndex(Buffer.from(GOLDEN_MESSAGE, 'hex'))).toBeUndefined();
    });
  });

  describe('round trips', () => {
    it('keeps every metadata field a producer sets', () => {
      const metadata = plain({
        producerName: 'standalone-0-1',
        sequenceId: 2n ** 40n,
        publishTime: 1_764_734_400_123,
        properties: new Map([
          ['a', '1'],
          ['ünï', 'cødé'],
        ]),
        partitionKey: 'key-1',
        orderingKey: Buffer.from([0, 1, 2]),
        eventTime: 1_764_734_400_000,
        numMessagesInBatch: 1,
        compression: 'NONE',
        uncompressedSize: 2,
        highestSequenceId: 7n,
        nullValue: false,
        schemaVersion: Buffer.from([9]),
      });
      const entry = withBrokerEntryMetadata(encodeMessage(metadata, Buffer.from('hi')), {
        brokerTimestamp: 1_764_734_400_124,
        index: 2n ** 50n + 3n,
      });
      const parsed = parseEntry(entry);
      expect(parsed.metadata).toEqual(metadata);
      expect(parsed.brokerEntryMetadata).toEqual({
        brokerTimestamp: 1_764_734_400_124,
        index: 2n ** 50n + 3n,
      });
      expect(readBrokerEntryIndex(entry)).toBe(2n ** 50n + 3n);
    });

    it('prepends broker entry metadata in the room encodeMessage left, once; a second time copies', () => {
      const metadata = {
        producerName: 'p',
        sequenceId: 1n,
        publishTime: 5,
        properties: new Map<string, string>(),
      };
      const payload = Buffer.alloc(64 * 1024, 7);
      const message = encodeMessage(metadata, payload);
      const copy = Buffer.from(message);
      const first = withBrokerEntryMetadata(message, { brokerTimestamp: 9, index: 2n ** 40n });
      expect(first.buffer).toBe(message.buffer); // written in place, no copy of the message
      expect(first.subarray(first.length - message.length)).toEqual(copy);
      expect(first).toEqual(withBrokerEntryMetadata(copy, { brokerTimestamp: 9, index: 2n ** 40n }));
      // The same message stored again (a retry) must not overwrite the first entry's metadata in place.
      const second = withBrokerEntryMetadata(message, { brokerTimestamp: 10, index: 3n });
      expect(second.buffer).not.toBe(message.buffer);
      expect(readBrokerEntryIndex(first)).toBe(2n ** 40n);
      expect(readBrokerEntryIndex(second)).toBe(3n);
      expect(parseEntry(first).payload).toEqual(payload);
    });

    it('re-encodes decoded metadata to the same bytes', () => {
      const bytes = encodeMessageMetadata(
        plain({ partitionKey: 'k', replicateTo: ['a', 'b'], deliverAtTime: 5 }),
      );
      expect(encodeMessageMetadata(decodeMessageMetadata(bytes)).equals(bytes)).toBe(true);
    });

    it('round-trips arbitrary messages and indexes (property)', () => {
      fc.assert(
        fc.property(
          fc.string({ maxLength: 20 }),
          fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
          fc.integer({ min: 0, max: 2 ** 52 }),
          fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
          fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
          fc.uint8Array({ maxLength: 100 }),
          fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
          (producerName, sequenceId, publishTime, props, partitionKey, payload, index) => {
            const metadata = plain({
              producerName,
              sequenceId,
              publishTime,
              properties: new Map(Object.entries(props)),
            });
            if (partitionKey !== undefined) metadata.partitionKey = partitionKey;
            const entry = withBrokerEntryMetadata(encodeMessage(metadata, payload), {
              brokerTimestamp: publishTime,
              index,
            });
            const parsed = parseEntry(entry);
            expect(parsed.metadata).toEqual(metadata);
            expect(Buffer.compare(parsed.payload, Buffer.from(payload))).toBe(0);
            expect(parsed.brokerEntryMetadata).toEqual({ brokerTimestamp: publishTime, index });
            expect(readBrokerEntryIndex(entry)).toBe(index);
          },
        ),
      );
    });

    it('splits a batch into its messages and costs num_messages_in_batch permits', () => {
      const payload = encodeBatchPayload([
        { metadata: { properties: new Map([['x', 'y']]), partitionKey: 'a' }, payload: Buffer.from('one') },
        {
          metadata: { properties: new Map(), orderingKey: Buffer.from('o'), sequenceId: 4n },
          payload: Buffer.from(''),
        },
        { metadata: { properties: new Map() }, payload: Buffer.from('three') },
      ]);
      const parsed = parseEntry(encodeMessage(plain({ numMessagesInBatch: 3 }), payload));
      expect(parsed.numMessages).toBe(3);
      const messages = decodeBatchPayload(parsed.payload, parsed.numMessages);
      expect(messages.map((m) => m.payload.toString())).toEqual(['one', '', 'three']);
      expect(messages[0]?.metadata).toEqual({
        properties: new Map([['x', 'y']]),
        partitionKey: 'a',
        payloadSize: 3,
      });
      expect(messages[1]?.metadata.sequenceId).toBe(4n);
      expect(messages[1]?.metadata.orderingKey?.toString()).toBe('o');
      expect(expectFormatError(() => decodeBatchPayload(parsed.payload, 4)).code).toBe('MalformedEntry');
      expect(expectFormatError(() => decodeBatchPayload(parsed.payload.subarray(0, 20), 3)).code).toBe(
        'MalformedEntry',
      );
    });

    it('inflates a ZLIB payload and refuses codecs it does not have', () => {
      const raw = Buffer.from('hello hello hello hello');
      const metadata = plain({ compression: 'ZLIB', uncompressedSize: raw.length });
      expect(uncompressPayload(metadata, deflateSync(raw), 1024).equals(raw)).toBe(true);
      expect(uncompressPayload(plain(), raw, 1024)).toBe(raw);
      expect(expectFormatError(() => uncompressPayload(metadata, Buffer.from('junk'), 1024)).code).toBe(
        'MalformedEntry',
      );
      expect(expectFormatError(() => uncompressPayload(metadata, deflateSync(raw), 10)).code).toBe(
        'MalformedEntry',
      );
      const lying = plain({ compression: 'ZLIB', uncompressedSize: 5 });
      expect(expectFormatError(() => uncompressPayload(lying, deflateSync(raw), 1024)).code).toBe(
        'MalformedEntry',
      );
      expect(expectFormatError(() => uncompressPayload(plain({ compression: 'LZ4' }), raw, 1024)).code).toBe(
        'UnsupportedCompression',
      );
    });
  });

  describe('malformed input is a PulsarFormatError, never another exception', () => {
    const golden = Buffer.from(GOLDEN_BEM + GOLDEN_MESSAGE, 'hex');
    const hex = (s: string): Buffer => Buffer.from(s, 'hex');

    it.each([
      ['empty', ''],
      ['one byte', '0e'],
      ['a broker-entry-metadata magic alone', '0e02'],
      ['a broker entry metadata size past the end', '0e02000000ff0801'],
      ['a huge broker entry metadata size', '0e02ffffffff' + GOLDEN_MESSAGE],
      ['junk broker entry metadata', '0e0200000002ffff' + GOLDEN_MESSAGE],
      ['broker entry metadata with a bad wire type', '0e02000000020f01' + GOLDEN_MESSAGE],
      ['no message after broker entry metadata', GOLDEN_BEM],
      ['a short message header', '0e0116f2f2f7000000'],
      ['a wrong magic', '0e03' + GOLDEN_MESSAGE.slice(4)],
      ['a metadata size past the end', '0e01' + '16f2f2f7' + '000000ff' + '0a0170'],
      ['a metadata size of 4 GiB', '0e01' + '16f2f2f7' + 'ffffffff' + '0a0170'],
    ])('%s → MalformedEntry', (_what, bytes) => {
      expect(expectFormatError(() => parseEntry(hex(bytes))).code).toBe('MalformedEntry');
    });

    it('a flipped payload bit → ChecksumError', () => {
      const data = Buffer.from(golden);
      data.writeUInt8((data.at(-1) as number) ^ 0x01, data.length - 1);
      expect(expectFormatError(() => parseEntry(data)).code).toBe('ChecksumError');
    });

    it('verifyChecksum false (dispatch) skips only the CRC32C: sizes and metadata are still checked', () => {
      const data = Buffer.from(golden);
      data.writeUInt8((data.at(-1) as number) ^ 0x01, data.length - 1);
      const parsed = parseEntry(data, { verifyChecksum: false });
      expect(parsed.payload.equals(data.subarray(data.length - parsed.payload.length))).toBe(true);
      expect(parsed.metadata).toEqual(parseEntry(golden).metadata);
      expect(
        expectFormatError(() =>
          parseEntry(data.subarray(0, data.length - parsed.payload.length - 2), { verifyChecksum: false }),
        ).code,
      ).toBe('MalformedEntry');
    });

    it('junk metadata under a valid checksum → MalformedEntry', () => {
      for (const junk of ['ffffffff', '0a05', '1000', '0a0170100018e80740ff']) {
        const message = Buffer.concat([
          hex('0e01' + '00000000'),
          Buffer.alloc(4),
          hex(junk),
          Buffer.from('x'),
        ]);
        message.writeUInt32BE(junk.length / 2, 6);
        message.writeUInt32BE(crc32c(message.subarray(6)) >>> 0, 2);
        expect(expectFormatError(() => parseEntry(message)).code).toBe('MalformedEntry');
      }
    });

    it('num_messages_in_batch below 1 → MalformedEntry', () => {
      expect(
        expectFormatError(() => parseEntry(encodeMessage(plain({ numMessagesInBatch: 0 }), Buffer.alloc(0))))
          .code,
      ).toBe('MalformedEntry');
    });

    it('truncated, bit-flipped and random entries (property)', () => {
      const check = (data: Buffer): void => {
        throwsOnlyFormatErrors(() => parseEntry(data));
        throwsOnlyFormatErrors(() => readBrokerEntryIndex(data));
      };
      fc.assert(
        fc.property(
          fc.nat(golden.length),
          fc.nat(golden.length * 8 - 1),
          fc.uint8Array({ maxLength: 80 }),
          (cut, bit, random) => {
            check(golden.subarray(0, cut));
            const flipped = Buffer.from(golden);
            flipped.writeUInt8((flipped[bit >> 3] as number) ^ (1 << (bit & 7)), bit >> 3);
            check(flipped);
            check(Buffer.from(random));
            check(Buffer.concat([hex('0e02'), Buffer.from(random)]));
            check(Buffer.concat([hex('0e01'), Buffer.from(random)]));
          },
        ),
      );
    });
  });
});
