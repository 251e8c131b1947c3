import { OffsetStoreError } from '../../../../../broker/kafka/group';
import type { CommittedOffset } from '../../../../../broker/kafka/group';
import { decodeEntry, encodeEntry } from '../../../../../broker/kafka/group/durable-offset-store';

/** The durable offset store's entry format: commits round-trip, and any damaged entry is refused by name. */

const OFFSETS: CommittedOffset[] = [
  { topic: 't', partition: 0, offset: 42n, metadata: '' },
  { topic: 'tópico', partition: 2147483647, offset: -1n, metadata: 'm'.repeat(300) },
  { topic: 't', partition: 3, offset: 9223372036854775807n, metadata: 'ünï' },
];

describe('broker > kafka > group > durable offset store entry format', () => {
  it('round-trips a commit entry', () => {
    const data = encodeEntry(1, [['group-é', OFFSETS]]);
    expect(decodeEntry(data, '1:0')).toEqual({ kind: 1, groups: [['group-é', OFFSETS]] });
    expect(decodeEntry(encodeEntry(1, [['g', []]]), '1:1')).toEqual({ kind: 1, groups: [['g', []]] });
  });

  it('refuses every truncation, a trailing byte, another version or kind, and impossible counts', () => {
    const data = encodeEntry(1, [['g', OFFSETS]]);
    for (let n = 0; n < data.length; n++) {
      expect(() => decodeEntry(data.subarray(0, n), '5:7')).toThrow(OffsetStoreError);
    }
    const corrupt = (bytes: Buffer): unknown => {
      try {
        decodeEntry(bytes, '5:7');
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(corrupt(Buffer.concat([data, Buffer.from([0])]))).toMatchObject({
      code: 'CorruptOffsetEntry',
      message: expect.stringContaining('5:7'),
    });
    const otherVersion = Buffer.from(data);
    otherVersion[0] = 2;
    expect(corrupt(otherVersion)).toMatchObject({ code: 'CorruptOffsetEntry' });
    const otherKind = Buffer.from(data);
    otherKind[1] = 9;
    expect(corrupt(otherKind)).toMatchObject({ code: 'CorruptOffsetEntry' });
    const hugeCount = Buffer.from(data);
    hugeCount.writeUInt32BE(0xffffffff, 2);
    expect(corrupt(hugeCount)).toMatchObject({ message: expect.stringContaining('cannot fit') });
    // A snapshot chunk whose index is not below its count.
    const chunk = Buffer.concat([Buffer.from([1, 2, 0, 0, 0, 3, 0, 0, 0, 3]), Buffer.alloc(4)]);
    expect(corrupt(chunk)).toMatchObject({ message: expect.stringContaining('chunk 3 of 3') });
  });

  it('refuses to encode a group id longer than its 2-byte length allows', () => {
    expect(() => encodeEntry(1, [['g'.repeat(70000), OFFSETS]])).toThrow(OffsetStoreError);
  });
});
