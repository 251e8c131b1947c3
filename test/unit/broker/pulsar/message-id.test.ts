import fc from 'fast-check';
import {
  EARLIEST_MESSAGE_ID,
  LATEST_MESSAGE_ID,
  compareMessageIds,
  decodeMessageId,
  encodeMessageId,
  formatMessageId,
  messageId,
  messageIdFromBase64,
  messageIdToBase64,
  parseMessageId,
} from '../../../../broker/pulsar';
import type { MessageId } from '../../../../broker/pulsar';
import { expectFormatError, throwsOnlyFormatErrors } from './expect-format-error';

const arbitraryId: fc.Arbitrary<MessageId> = fc.record({
  ledgerId: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  entryId: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  partition: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  batchIndex: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
});

describe('broker > pulsar > message-id', () => {
  it("decodes Pulsar's own example CAAQAw== as ledgerId 0, entryId 3", () => {
    expect(messageIdFromBase64('CAAQAw==')).toEqual(messageId(0n, 3n));
    expect(messageIdToBase64(messageId(0n, 3n))).toBe('CAAQAw==');
  });

  it('reads the ids of current Pulsar clients (batch_size 0 on a non-batch id) and writes them back the same', () => {
    // Pulsar 2.10+ MessageIdImpl.toByteArray() passes batchSize 0, and writes batch_size when > -1.
    const id = messageIdFromBase64('CAAQAzAA');
    expect(id).toEqual({ ...messageId(0n, 3n), batchSize: 0 });
    expect(messageIdToBase64(id)).toBe('CAAQAzAA');
  });

  it('writes partition and batch_index only when they are set, as MessageIdImpl.toByteArray', () => {
    expect(encodeMessageId(messageId(1n, 2n)).toString('hex')).toBe('08011002');
    expect(encodeMessageId(messageId(1n, 2n, 0)).toString('hex')).toBe('080110021800');
    expect(encodeMessageId(messageId(1n, 2n, -1, 5)).toString('hex')).toBe('080110022005');
    expect(encodeMessageId({ ...messageId(1n, 2n, -1, 5), batchSize: 10 }).toString('hex')).toBe(
      '080110022005300a',
    );
  });

  it('writes MessageId.earliest (-1:-1) as 64-bit all-ones varints and reads it back as -1', () => {
    const bytes = encodeMessageId(EARLIEST_MESSAGE_ID);
    expect(bytes.toString('hex')).toBe('08ffffffffffffffffff0110ffffffffffffffffff01');
    expect(decodeMessageId(bytes)).toEqual(EARLIEST_MESSAGE_ID);
    expect(decodeMessageId(encodeMessageId(LATEST_MESSAGE_ID))).toEqual(LATEST_MESSAGE_ID);
  });

  it('round-trips any id through bytes, base64 and the printed form', () => {
    fc.assert(
      fc.property(arbitraryId, (id) => {
        expect(decodeMessageId(encodeMessageId(id))).toEqual(id);
        expect(messageIdFromBase64(messageIdToBase64(id))).toEqual(id);
        expect(parseMessageId(formatMessageId(id))).toEqual(id);
      }),
    );
  });

  it('prints L:E, and L:E:P:B when a partition or batch index is set', () => {
    expect(formatMessageId(messageId(12n, 34n))).toBe('12:34');
    expect(formatMessageId(messageId(12n, 34n, 2))).toBe('12:34:2:-1');
    expect(formatMessageId(messageId(12n, 34n, -1, 3))).toBe('12:34:-1:3');
    expect(parseMessageId('12:34:-1')).toEqual(messageId(12n, 34n));
  });

  it('orders ids by ledger, entry, then batch index', () => {
    const ids = [messageId(2n, 0n), messageId(1n, 5n, -1, 1), messageId(1n, 5n), messageId(1n, 4n)];
    expect([...ids].sort(compareMessageIds).map(formatMessageId)).toEqual(['1:4', '1:5', '1:5:-1:1', '2:0']);
  });

  it.each([
    ['empty', ''],
    ['not base64', 'not base64!'],
    ['base64 of junk bytes', Buffer.from([0xff, 0xff, 0xff]).toString('base64')],
    ['a missing entryId', Buffer.from('0801', 'hex').toString('base64')],
    ['a truncated varint', Buffer.from('0880', 'hex').toString('base64')],
    ['a length past the end', Buffer.from('080110027aff01', 'hex').toString('base64')],
    ['one char too many', 'CAAQA'],
    ['whitespace', 'CAAQ Aw=='],
    ['base64url characters', 'CAAQ_w--'],
  ])('refuses %s with a PulsarFormatError', (_what, text) => {
    expect(expectFormatError(() => messageIdFromBase64(text)).code).toBe('MalformedMessageId');
  });

  it('refuses malformed printed ids', () => {
    for (const text of ['', '1', '1:', 'a:b', '1:2:3:4:5', '99999999999999999999:1', '1:2:99999999999']) {
      expect(expectFormatError(() => parseMessageId(text)).code).toBe('MalformedMessageId');
    }
  });

  it('reads ids with fields beyond the simple ones (ack_set, first chunk id) as protobufjs does', () => {
    // 0:3 with ack_set [5] (field 5, varint) and first_chunk_message_id {ledgerId 0, entryId 1} (field 7).
    const bytes = Buffer.from('08001003280530003a0408001001', 'hex');
    expect(decodeMessageId(bytes)).toEqual({ ...messageId(0n, 3n), batchSize: 0 });
    // Field 1 missing: refused whichever decoder reads it.
    expect(expectFormatError(() => decodeMessageId(Buffer.from('1003', 'hex'))).code).toBe(
      'MalformedMessageId',
    );
  });

  it('never throws anything but a PulsarFormatError for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        throwsOnlyFormatErrors(() => decodeMessageId(bytes));
      }),
    );
  });
});
