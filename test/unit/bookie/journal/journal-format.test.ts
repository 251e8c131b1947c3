/**
 * The journal's byte layout (BookKeeper's version 6) in golden bytes: header, each record kind, padding, and
 * what decoding says about records that a complete write could not have produced.
 */
import {
  decodeJournalHeader,
  decodeJournalRecord,
  encodeJournalHeader,
  journalFileName,
  MetaEntryId,
  metaRecordBytes,
  paddingRecordBytes,
  parseJournalFileName,
  writeDataRecord,
  writeMetaRecord,
  writePaddingRecord,
} from '../../../../bookie/journal';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('bookie > journal > format', () => {
  it('header: "BKLG", version 6, zeros to 512 bytes', () => {
    const header = encodeJournalHeader();
    expect(header.length).toBe(512);
    expect(header.subarray(0, 8)).toEqual(hex('424b4c47 00000006'));
    expect(header.subarray(8).every((b) => b === 0)).toBe(true);
    expect(decodeJournalHeader(header)).toEqual({ kind: 'valid', version: 6 });
  });

  it('header: version 5 is read, a torn header is told apart from a foreign one', () => {
    const v5 = encodeJournalHeader();
    v5.writeInt32BE(5, 4);
    expect(decodeJournalHeader(v5)).toEqual({ kind: 'valid', version: 5 });
    expect(decodeJournalHeader(Buffer.alloc(512))).toEqual({ kind: 'torn' });
    expect(decodeJournalHeader(encodeJournalHeader().subarray(0, 100))).toEqual({ kind: 'torn' });
    const v4 = encodeJournalHeader();
    v4.writeInt32BE(4, 4);
    expect(decodeJournalHeader(v4)).toMatchObject({
      kind: 'foreign',
      reason: expect.stringContaining('version 4'),
    });
    const junk = Buffer.alloc(512, 0x41);
    expect(decodeJournalHeader(junk)).toMatchObject({
      kind: 'foreign',
      reason: expect.stringContaining('magic'),
    });
  });

  it('file names are the lowercase hex logId with .txn', () => {
    expect(journalFileName(0x19a2b3c4d5en)).toBe('19a2b3c4d5e.txn');
    expect(parseJournalFileName('19a2b3c4d5e.txn')).toBe(0x19a2b3c4d5en);
    expect(parseJournalFileName('19A2.txn')).toBe(0x19a2n);
    for (const name of ['lastMark', 'VERSION', '12.txn.tmp', 'x.txn', '.txn', '12345678901234567.txn']) {
      expect(parseJournalFileName(name)).toBeUndefined();
    }
  });

  it('data record: int32 length, then the packed entry as given', () => {
    const entry = Buffer.alloc(40, 0xab);
    const target = Buffer.alloc(50);
    expect(writeDataRecord(target, 2, entry)).toBe(46);
    expect(target.subarray(2, 6)).toEqual(hex('00000028'));
    expect(target.subarray(6, 46)).toEqual(entry);
  });

  it('meta records: ledgerId, metaEntryId, then int32 length and blob for LEDGER_KEY and EXPLICIT_LAC', () => {
    const fence = Buffer.alloc(metaRecordBytes(undefined));
    writeMetaRecord(fence, 0, 0x0102n, MetaEntryId.FENCE, undefined);
    expect(fence).toEqual(hex('00000010 0000000000000102 ffffffffffffe000'));

    const key = Buffer.alloc(metaRecordBytes(3));
    writeMetaRecord(key, 0, 5n, MetaEntryId.LEDGER_KEY, hex('aabbcc'));
    expect(key).toEqual(hex('00000017 0000000000000005 fffffffffffff000 00000003 aabbcc'));

    const lac = Buffer.alloc(metaRecordBytes(2));
    writeMetaRecord(lac, 0, 5n, MetaEntryId.EXPLICIT_LAC, hex('0102'));
    expect(lac).toEqual(hex('00000016 0000000000000005 ffffffffffff8000 00000002 0102'));

    expect(decodeJournalRecord(fence.subarray(4))).toEqual({ kind: 'fence', ledgerId: 0x0102n });
    expect(decodeJournalRecord(key.subarray(4))).toEqual({
      kind: 'ledgerKey',
      ledgerId: 5n,
      masterKey: hex('aabbcc'),
    });
    expect(decodeJournalRecord(lac.subarray(4))).toEqual({
      kind: 'explicitLac',
      ledgerId: 5n,
      lacBlob: hex('0102'),
    });
  });

  it('padding: -0x100, the number of zeros, zeros; at least 8 bytes, up to the next boundary', () => {
    expect(paddingRecordBytes(512, 512)).toBe(0);
    expect(paddingRecordBytes(600, 512)).toBe(424);
    expect(paddingRecordBytes(1020, 512)).toBe(4 + 512); // a 4-byte gap is too small for a padding record
    expect(paddingRecordBytes(1016, 512)).toBe(8);
    expect(paddingRecordBytes(5000, 4096)).toBe(3192);
    const target = Buffer.alloc(20, 0xff);
    expect(writePaddingRecord(target, 2, 12)).toBe(14);
    expect(target).toEqual(hex('ffff ffffff00 00000004 00000000 ffffffffffff'));
  });

  it('decoding refuses records that no complete write produces', () => {
    const reasons = [
      Buffer.alloc(15), // shorter than ledgerId + entryId
      hex('0000000000000001 0000000000000002 00'), // a data record shorter than the entry metadata
      hex('0000000000000001 ffffffffffffe000 00'), // FENCE with extra bytes
      hex('0000000000000001 fffffffffffff000 00000005 aabb'), // LEDGER_KEY shorter than its key length
      hex('0000000000000001 fffffffffffff000 ffffffff'), // negative key length
      hex('0000000000000001 ffffffffffff8000 0000'), // EXPLICIT_LAC without a whole length field
      hex('0000000000000001 ffffffffffffc000'), // FORCE_LEDGER is never written
      hex('0000000000000001 ffffffffffffffff'), // unknown negative entryId
    ].map((record) => decodeJournalRecord(record));
    for (const decoded of reasons) expect(decoded.kind).toBe('malformed');
    const entry = Buffer.alloc(32);
    expect(decodeJournalRecord(entry)).toEqual({ kind: 'entry', entry });
  });
});
