import fc from 'fast-check';
import {
  decodeMessageMetadata,
  decodeSingleMessageMetadata,
  encodeMessageMetadata,
  encodeSingleMessageMetadata,
} from '../../../../broker/pulsar';
import type { MessageMetadata } from '../../../../broker/pulsar';
import {
  decodeMessageMetadataReference,
  encodeMessageMetadataReference,
} from '../../../../broker/pulsar/reference-codec';
import { expectFormatError, throwsOnlyFormatErrors } from './expect-format-error';

const text = fc.string({ maxLength: 12, unit: 'grapheme' });
const bytes = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b));
const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const stringMap = fc.dictionary(text, text, { maxKeys: 3 }).map((o) => new Map(Object.entries(o)));

/** Any MessageMetadata: the required fields and any subset of the optional ones, over their whole ranges. */
const arbitraryMetadata: fc.Arbitrary<MessageMetadata> = fc.record(
  {
    producerName: text,
    sequenceId: long,
    publishTime: fc.maxSafeNat(),
    properties: stringMap,
    replicatedFrom: text,
    partitionKey: text,
    replicateTo: fc.array(text, { minLength: 1, maxLength: 3 }),
    compression: fc.constantFrom('NONE', 'LZ4', 'ZLIB', 'ZSTD', 'SNAPPY'),
    uncompressedSize: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    numMessagesInBatch: int32,
    eventTime: fc.maxSafeNat(),
    encryptionKeys: fc.array(fc.record({ key: text, value: bytes, metadata: stringMap }), {
      minLength: 1,
      maxLength: 2,
    }),
    encryptionAlgo: text,
    encryptionParam: bytes,
    schemaVersion: bytes,
    partitionKeyB64Encoded: fc.boolean(),
    orderingKey: bytes,
    deliverAtTime: fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    markerType: int32,
    txnidLeastBits: long,
    txnidMostBits: long,
    highestSequenceId: long,
    nullValue: fc.boolean(),
    uuid: text,
    numChunksFromMsg: int32,
    totalChunkMsgSize: int32,
    chunkId: int32,
    nullPartitionKey: fc.boolean(),
  },
  { requiredKeys: ['producerName', 'sequenceId', 'publishTime', 'properties'] },
) as fc.Arbitrary<MessageMetadata>;

describe('broker > pulsar > message-metadata', () => {
  it('encodes and decodes as protobufjs does, byte for byte and field for field (property)', () => {
    fc.assert(
      fc.property(arbitraryMetadata, (metadata) => {
        const encoded = encodeMessageMetadata(metadata);
        expect(encoded.toString('hex')).toBe(encodeMessageMetadataReference(metadata).toString('hex'));
        const decoded = decodeMessageMetadata(encoded);
        expect(decoded).toEqual(metadata);
        expect(decodeMessageMetadataReference(encoded)).toEqual(decoded);
        expect(encodeMessageMetadata(decoded).equals(encoded)).toBe(true);
      }),
    );
  });

  it("writes Pulsar's field numbers (golden bytes)", () => {
    const metadata: MessageMetadata = {
      producerName: 'p',
      sequenceId: 1n,
      publishTime: 2,
      properties: new Map([['k', 'v']]),
      partitionKey: 'x',
      eventTime: 3,
      orderingKey: Buffer.from('o'),
    };
    // 1: producer_name, 2: sequence_id, 3: publish_time, 4: KeyValue{1,2}, 6: partition_key, 12: event_time,
    // 18: ordering_key (key 0x92 0x01).
    expect(encodeMessageMetadata(metadata).toString('hex')).toBe(
      '0a0170' + '1001' + '1802' + '2206' + '0a016b' + '120176' + '320178' + '6003' + '9201016f',
    );
  });

  it('encodes large metadata (the writer grows past its first 4 KiB)', () => {
    const properties = new Map(Array.from({ length: 200 }, (_, i) => [`key-${i}`, 'v'.repeat(100)]));
    const metadata: MessageMetadata = { producerName: 'p', sequenceId: 1n, publishTime: 2, properties };
    const encoded = encodeMessageMetadata(metadata);
    expect(encoded.length).toBeGreaterThan(20_000);
    expect(encoded.equals(encodeMessageMetadataReference(metadata))).toBe(true);
    expect(decodeMessageMetadata(encoded)).toEqual(metadata);
  });

  it('skips fields it does not know, as proto2 readers do', () => {
    const known = encodeMessageMetadata({
      producerName: 'p',
      sequenceId: 0n,
      publishTime: 1,
      properties: new Map(),
    });
    // field 99 (varint), field 100 (length-delimited), field 101 (fixed32), field 102 (fixed64)
    const unknown = Buffer.from('98060ba2060201' + '02ad0601020304' + 'b106' + '0102030405060708', 'hex');
    expect(decodeMessageMetadata(Buffer.concat([known, unknown]))).toEqual(decodeMessageMetadata(known));
  });

  it.each([
    ['no producer_name', '10001801'],
    ['no sequence_id', '0a01701801'],
    ['no publish_time', '0a01701000'],
    ['a truncated varint', '0a0170100018'],
    ['a length past the end', '0a0570'],
    ['a property without a value', '0a017010001801' + '2203' + '0a016b'],
    ['a wire type the field does not have', '0a017010001801' + '3501020304'],
    ['field number 0', '0a017010001801' + '0001'],
    ['wire type 7', '0a017010001801' + '0f'],
    ['an unknown compression', '0a017010001801' + '4009'],
    ['a varint of 11 bytes', '0a0170' + '10ffffffffffffffffffff01' + '1801'],
  ])('refuses %s with MalformedEntry', (_what, hex) => {
    const bytes = Buffer.from(hex, 'hex');
    expect(expectFormatError(() => decodeMessageMetadata(bytes)).code).toBe('MalformedEntry');
  });

  it('throws nothing but PulsarFormatError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (random) => {
        throwsOnlyFormatErrors(() => decodeMessageMetadata(random));
        throwsOnlyFormatErrors(() => decodeSingleMessageMetadata(random));
      }),
    );
  });

  it('round-trips SingleMessageMetadata', () => {
    const single = {
      properties: new Map([['a', 'b']]),
      partitionKey: 'k',
      payloadSize: 5,
      eventTime: 9,
      orderingKey: Buffer.from('o'),
      sequenceId: 3n,
      nullValue: false,
    };
    expect(decodeSingleMessageMetadata(encodeSingleMessageMetadata(single))).toEqual(single);
  });
});
