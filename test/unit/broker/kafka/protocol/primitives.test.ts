import { KafkaProtocolError, KafkaReader, KafkaWriter } from '../../../../../broker/kafka/protocol';

/** The bytes a writer produced, without the 4-byte size prefix it reserves. */
const written = (write: (w: KafkaWriter) => void): Buffer => {
  const w = new KafkaWriter(16);
  write(w);
  return w.finish().subarray(4);
};
const reader = (hex: string): KafkaReader => new KafkaReader(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

describe('broker > kafka > protocol > primitives', () => {
  it('fixed-width integers are big-endian, int64 as bigint', () => {
    const bytes = written((w) => {
      w.int8(-2);
      w.int16(-3);
      w.int32(0x01020304);
      w.uint32(0xfffffffe);
      w.int64(-(2n ** 63n));
      w.boolean(true);
    });
    expect(bytes.toString('hex')).toBe('fe' + 'fffd' + '01020304' + 'fffffffe' + '8000000000000000' + '01');
    const r = new KafkaReader(bytes);
    expect([r.int8(), r.int16(), r.int32(), r.uint32(), r.int64(), r.boolean()]).toEqual([
      -2,
      -3,
      0x01020304,
      0xfffffffe,
      -(2n ** 63n),
      true,
    ]);
    expect(r.remaining).toBe(0);
    expect(reader('07').boolean()).toBe(true);
  });

  it('unsigned varints are LEB128, at most 5 bytes and 32 bits', () => {
    for (const [value, hex] of [
      [0, '00'],
      [127, '7f'],
      [128, '8001'],
      [300, 'ac02'],
      [0xffffffff, 'ffffffff0f'],
    ] as const) {
      expect(written((w) => w.uvarint(value)).toString('hex')).toBe(hex);
      expect(reader(hex).uvarint()).toBe(value);
    }
    expect(() => reader('ffffffff10').uvarint()).toThrow(/over 32 bits/);
    expect(() => reader('ffffffffff01').uvarint()).toThrow(/longer than 5 bytes/);
    expect(() => reader('80').uvarint()).toThrow(/past the end/);
  });

  it('classic and compact strings and bytes, with their nulls', () => {
    const bytes = written((w) => {
      w.nullableString('hé', false);
      w.nullableString(null, false);
      w.nullableString('hé', true);
      w.nullableString(null, true);
      w.nullableBytes(Buffer.from([1, 2]), false);
      w.nullableBytes(null, false);
      w.nullableBytes(Buffer.from([1, 2]), true);
      w.nullableBytes(null, true);
    });
    expect(bytes.toString('hex')).toBe(
      '000368c3a9' + 'ffff' + '0468c3a9' + '00' + '000000020102' + 'ffffffff' + '030102' + '00',
    );
    const r = new KafkaReader(bytes);
    expect([
      r.nullableString(),
      r.nullableString(),
      r.compactNullableString(),
      r.compactNullableString(),
    ]).toEqual(['hé', null, 'hé', null]);
    expect([
      r.nullableBytes(),
      r.nullableBytes(),
      r.compactNullableBytes(),
      r.compactNullableBytes(),
    ]).toEqual([Buffer.from([1, 2]), null, Buffer.from([1, 2]), null]);
  });

  it('lengths and counts are checked against the bytes left before anything is read', () => {
    expect(() => reader('0005 6162').nullableString()).toThrow(/string of 5 needs at least 5 bytes, 2 left/);
    expect(() => reader('fffe').nullableString()).toThrow(/string length -2/);
    expect(() => reader('7fffffff').nullableBytes()).toThrow(/bytes of 2147483647/);
    expect(() => reader('80000000').nullableBytes()).toThrow(/bytes length -2147483648/);
    expect(() => reader('ffffffff0f').compactNullableBytes()).toThrow(/compact bytes of 4294967294/);
    expect(() => reader('00000003 0000').arrayLength(false, 4)).toThrow(
      /array of 3 needs at least 12 bytes, 2 left/,
    );
    expect(reader('ffffffff').arrayLength(false, 4)).toBe(-1);
    expect(reader('00').arrayLength(true, 4)).toBe(-1);
    expect(() => reader('0001').int32()).toThrow(KafkaProtocolError);
  });

  it('tagged-field sections skip every field, in tag order', () => {
    const r = reader('02 00 02 abcd 05 01 ee 99');
    r.skipTaggedFields();
    expect(r.int8()).toBe(-103);
    expect(() => reader('02 05 00 01 00').skipTaggedFields()).toThrow(/tagged field 1 out of order after 5/);
    expect(() => reader('01 00 09 00').skipTaggedFields()).toThrow(/tagged field of 9/);
    const empty = written((w) => w.emptyTaggedFields());
    expect(empty.toString('hex')).toBe('00');
  });

  it('the writer refuses values its types cannot hold', () => {
    const w = new KafkaWriter();
    expect(() => w.int8(128)).toThrow(/128 is not an int8/);
    expect(() => w.int16(1.5)).toThrow(/not an int16/);
    expect(() => w.int32(2 ** 31)).toThrow(/not an int32/);
    expect(() => w.int64(2n ** 63n)).toThrow(/not an int64/);
    expect(() => w.int64(1 as unknown as bigint)).toThrow(/not an int64/);
    expect(() => w.nullableString('x'.repeat(0x8000), false)).toThrow(/at most 32767 bytes/);
    expect(() => w.boolean(1 as unknown as boolean)).toThrow(/not a boolean/);
  });

  it('keeps large byte strings as chunks and joins them once, in order', () => {
    const big = Buffer.alloc(4096, 0x5a);
    const frame = (() => {
      const w = new KafkaWriter(16);
      w.int32(1);
      w.nullableBytes(big, false);
      w.int16(2);
      w.nullableBytes(big.subarray(0, 10), false);
      return w.finish();
    })();
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const r = new KafkaReader(frame, 4);
    expect(r.int32()).toBe(1);
    expect(r.nullableBytes()!.equals(big)).toBe(true);
    expect(r.int16()).toBe(2);
    expect(r.nullableBytes()!.equals(big.subarray(0, 10))).toBe(true);
    expect(r.remaining).toBe(0);
  });
});
