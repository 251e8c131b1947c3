import fc from 'fast-check';
import {
  BadLedgerMetadataError,
  ledgerMetadataFormatVersion,
  parseLedgerMetadata,
  serializeLedgerMetadata,
  validateLedgerMetadata,
  type DigestType,
  type LedgerMetadata,
  type LedgerState,
} from '../../../metadata';

const HEADER = 'BookieMetadataFormatVersion\t3\n';

function openLedger(overrides: Partial<LedgerMetadata> = {}): LedgerMetadata {
  return {
    ensembleSize: 3,
    writeQuorumSize: 2,
    ackQuorumSize: 2,
    state: 'OPEN',
    lastEntryId: -1n,
    length: 0n,
    ensembles: [{ firstEntryId: 0n, ensemble: ['bk1:3181', 'bk2:3181', 'bk3:3181'] }],
    digestType: 'CRC32C',
    password: Buffer.from('pw'),
    customMetadata: new Map(),
    ...overrides,
  };
}

/** Any valid ledger metadata, with every optional part sometimes present. */
const ledgerMetadataArb: fc.Arbitrary<LedgerMetadata> = fc
  .record({
    ensembleSize: fc.integer({ min: 1, max: 6 }),
    wq: fc.integer({ min: 1, max: 6 }),
    aq: fc.integer({ min: 1, max: 6 }),
    state: fc.constantFrom<LedgerState>('OPEN', 'IN_RECOVERY', 'CLOSED'),
    lastEntryId: fc.bigInt({ min: -1n, max: (1n << 63n) - 1n }),
    length: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
    firstEntryGaps: fc.array(fc.bigInt({ min: 1n, max: 1n << 40n }), { minLength: 0, maxLength: 4 }),
    bookies: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 30, maxLength: 30 }),
    digestType: fc.constantFrom<DigestType>('CRC32', 'HMAC', 'CRC32C', 'DUMMY'),
    password: fc.uint8Array({ maxLength: 20 }),
    ctime: fc.option(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), { nil: undefined }),
    cToken: fc.option(fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }), { nil: undefined }),
    custom: fc.dictionary(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 10 }), { maxKeys: 3 }),
  })
  .map((r) => {
    const writeQuorumSize = Math.min(r.wq, r.ensembleSize);
    let first = 0n;
    const firsts = [0n, ...r.firstEntryGaps.map((gap) => (first += gap))];
    const md: LedgerMetadata = {
      ensembleSize: r.ensembleSize,
      writeQuorumSize,
      ackQuorumSize: Math.min(r.aq, writeQuorumSize),
      state: r.state,
      lastEntryId: r.state === 'CLOSED' ? r.lastEntryId : -1n,
      length: r.state === 'CLOSED' ? r.length : 0n,
      ensembles: firsts.map((firstEntryId, i) => ({
        firstEntryId,
        ensemble: r.bookies.slice(i * r.ensembleSize, (i + 1) * r.ensembleSize),
      })),
      digestType: r.digestType,
      password: Buffer.from(r.password),
      customMetadata: new Map(Object.entries(r.custom).map(([k, v]) => [k, Buffer.from(v)])),
    };
    if (r.ctime !== undefined) md.ctime = r.ctime;
    if (r.cToken !== undefined) md.cToken = r.cToken;
    return md;
  });

/** Parsing must either succeed or throw the typed error; nothing else may escape. */
function parsesOrThrowsTyped(bytes: Buffer): void {
  try {
    const md = parseLedgerMetadata(bytes);
    validateLedgerMetadata(md);
  } catch (error) {
    if (!(error instanceof BadLedgerMetadataError)) throw error;
    expect(error.code).toBe('BadLedgerMetadata');
  }
}

describe('metadata > ledger metadata format', () => {
  describe('v3 serialization', () => {
    it('writes the golden bytes of a small open ledger', () => {
      // Header "BookieMetadataFormatVersion\t3\n", then varint32 0x3f (63 bytes follow), then the
      // LedgerMetadataFormat fields in field-number order (tag = field << 3 | wire type):
      //   08 02                  quorumSize (1, varint) = 2 (the write quorum)
      //   10 03                  ensembleSize (2) = 3
      //   18 00                  length (3) = 0
      //   20 ff ff ff ff ff ff ff ff ff 01   lastEntryId (4) = -1, always written, a 10-byte varint
      //   28 01                  state (5) = OPEN
      //   32 20                  segment (6, length-delimited), 32 bytes:
      //     0a 08 "bk1:3181"  0a 08 "bk2:3181"  0a 08 "bk3:3181"   ensembleMember (1) x3
      //     10 00                firstEntryId (2) = 0
      //   38 03                  digestType (7) = CRC32C
      //   42 02 70 77            password (8) = "pw"
      //   48 02                  ackQuorumSize (9) = 2
      //   60 00                  cToken (12) = 0 (BookKeeper always writes it in v3)
      const expected = Buffer.concat([
        Buffer.from(HEADER, 'ascii'),
        Buffer.from('3f' + '0802' + '1003' + '1800' + '20ffffffffffffffffff01' + '2801' + '3220', 'hex'),
        Buffer.from('0a08', 'hex'),
        Buffer.from('bk1:3181'),
        Buffer.from('0a08', 'hex'),
        Buffer.from('bk2:3181'),
        Buffer.from('0a08', 'hex'),
        Buffer.from('bk3:3181'),
        Buffer.from('1000' + '3803' + '42027077' + '4802' + '6000', 'hex'),
      ]);
      expect(serializeLedgerMetadata(openLedger()).toString('hex')).toBe(expected.toString('hex'));
      expect(parseLedgerMetadata(expected)).toEqual(openLedger());
    });

    it('writes ctime and custom metadata only when present, in field order after ackQuorumSize', () => {
      const md = openLedger({ ctime: 1n, customMetadata: new Map([['k', Buffer.from('v')]]) });
      const bytes = serializeLedgerMetadata(md);
      // ... 48 02 (ackQuorumSize) 50 01 (ctime=1) 5a 06 [0a 01 'k' 12 01 'v'] (customMetadata) 60 00 (cToken)
      expect(bytes.subarray(bytes.length - 14).toString('hex')).toBe(
        '4802' + '5001' + '5a060a016b120176' + '6000',
      );
      expect(parseLedgerMetadata(bytes)).toEqual(md);
    });

    it('round-trips any valid metadata', () => {
      fc.assert(
        fc.property(ledgerMetadataArb, (md) => {
          const bytes = serializeLedgerMetadata(md);
          expect(bytes.subarray(0, HEADER.length).toString('latin1')).toBe(HEADER);
          expect(parseLedgerMetadata(bytes)).toEqual(md);
        }),
        { numRuns: 300 },
      );
    });

    const invalid: Array<[string, Partial<LedgerMetadata>]> = [
      ['ackQuorumSize above writeQuorumSize', { ackQuorumSize: 3 }],
      ['writeQuorumSize above ensembleSize', { writeQuorumSize: 4, ackQuorumSize: 1 }],
      ['zero ackQuorumSize', { ackQuorumSize: 0 }],
      ['no ensembles', { ensembles: [] }],
      ['an ensemble of the wrong size', { ensembles: [{ firstEntryId: 0n, ensemble: ['a:1', 'b:1'] }] }],
      [
        'unordered ensembles',
        {
          ensembles: [
            { firstEntryId: 5n, ensemble: ['a:1', 'b:1', 'c:1'] },
            { firstEntryId: 5n, ensemble: ['a:1', 'b:1', 'd:1'] },
          ],
        },
      ],
      ['an open ledger with a last entry', { lastEntryId: 4n }],
      ['a closed ledger with a last entry below -1', { state: 'CLOSED', lastEntryId: -2n }],
    ];
    it.each(invalid)('refuses to write metadata with %s', (_what, overrides) => {
      expect(() => serializeLedgerMetadata(openLedger(overrides))).toThrow(BadLedgerMetadataError);
    });
  });

  describe('parse', () => {
    it('takes lastEntryId and length only from a closed ledger, and Qa = Qw when ackQuorumSize is absent', () => {
      // A hand-built v3 value of an IN_RECOVERY ledger that carries stale lastEntryId/length and no ackQuorumSize.
      const body = Buffer.concat([
        Buffer.from('0802' + '1002' + '1864' + '2009' + '2802' + '3212', 'hex'),
        Buffer.from('0a06', 'hex'),
        Buffer.from('a:3181'),
        Buffer.from('0a06', 'hex'),
        Buffer.from('b:3181'),
        Buffer.from('1000', 'hex'),
      ]);
      const bytes = Buffer.concat([Buffer.from(HEADER), Buffer.from([body.length]), body]);
      expect(parseLedgerMetadata(bytes)).toEqual({
        ensembleSize: 2,
        writeQuorumSize: 2,
        ackQuorumSize: 2,
        state: 'IN_RECOVERY',
        lastEntryId: -1n,
        length: 0n,
        ensembles: [{ firstEntryId: 0n, ensemble: ['a:3181', 'b:3181'] }],
        digestType: 'CRC32',
        password: Buffer.alloc(0),
        customMetadata: new Map(),
      });
    });

    it('reads format v2 (protobuf text format)', () => {
      const text = [
        'BookieMetadataFormatVersion\t2',
        'quorumSize: 2',
        'ensembleSize: 3',
        'length: 1024',
        'lastEntryId: 99',
        'state: CLOSED',
        'segment {',
        '  ensembleMember: "bk1:3181"',
        '  ensembleMember: "bk2:3181"',
        '  ensembleMember: "bk3:3181"',
        '  firstEntryId: 0',
        '}',
        'segment {',
        '  ensembleMember: "bk1:3181"',
        '  ensembleMember: "bk4:3181"',
        '  ensembleMember: "bk3:3181"',
        '  firstEntryId: 50',
        '}',
        'digestType: HMAC',
        'password: "p\\001\\"w"',
        'ackQuorumSize: 1',
        'ctime: 1700000000000',
        'customMetadata {',
        '  key: "application"',
        '  value: "ledgerline"',
        '}',
        '',
      ].join('\n');
      expect(ledgerMetadataFormatVersion(Buffer.from(text))).toBe(2);
      expect(parseLedgerMetadata(Buffer.from(text))).toEqual({
        ensembleSize: 3,
        writeQuorumSize: 2,
        ackQuorumSize: 1,
        state: 'CLOSED',
        lastEntryId: 99n,
        length: 1024n,
        ensembles: [
          { firstEntryId: 0n, ensemble: ['bk1:3181', 'bk2:3181', 'bk3:3181'] },
          { firstEntryId: 50n, ensemble: ['bk1:3181', 'bk4:3181', 'bk3:3181'] },
        ],
        digestType: 'HMAC',
        password: Buffer.from('p\u0001"w', 'latin1'),
        ctime: 1700000000000n,
        customMetadata: new Map([['application', Buffer.from('ledgerline')]]),
      });
    });

    it('reads format v1 (line format), including a ledger in recovery', () => {
      const closed =
        'BookieMetadataFormatVersion\t1\n2\n3\n512\n0\ta:1\tb:1\tc:1\n10\ta:1\td:1\tc:1\n19\tCLOSED';
      expect(parseLedgerMetadata(Buffer.from(closed))).toMatchObject({
        writeQuorumSize: 2,
        ackQuorumSize: 2,
        ensembleSize: 3,
        state: 'CLOSED',
        lastEntryId: 19n,
        length: 512n,
        ensembles: [
          { firstEntryId: 0n, ensemble: ['a:1', 'b:1', 'c:1'] },
          { firstEntryId: 10n, ensemble: ['a:1', 'd:1', 'c:1'] },
        ],
      });
      const recovering = 'BookieMetadataFormatVersion\t1\n1\n1\n0\n0\ta:1\n-102\tCLOSED';
      expect(parseLedgerMetadata(Buffer.from(recovering))).toMatchObject({
        state: 'IN_RECOVERY',
        lastEntryId: -1n,
      });
    });

    it('names an unsupported version in its error', () => {
      expect(() => parseLedgerMetadata(Buffer.from('BookieMetadataFormatVersion\t4\n\x00'))).toThrow(
        /format version 4 is not supported/,
      );
    });

    it('rejects a missing header, a truncated body and an oversized length with the typed error', () => {
      const good = serializeLedgerMetadata(openLedger());
      const cases = [
        Buffer.alloc(0),
        Buffer.from('hello'),
        Buffer.from('BookieMetadataFormatVersion\t'),
        Buffer.from('BookieMetadataFormatVersion\t12345678901\n'),
        good.subarray(0, good.length - 1),
        Buffer.concat([Buffer.from(HEADER), Buffer.from('ffffffff0f', 'hex')]),
        Buffer.concat([Buffer.from(HEADER), Buffer.from('ffffffffff01', 'hex')]),
      ];
      for (const bytes of cases) expect(() => parseLedgerMetadata(bytes)).toThrow(BadLedgerMetadataError);
    });

    it('only ever throws the typed error on truncated, bit-flipped or random input', () => {
      fc.assert(
        fc.property(
          ledgerMetadataArb,
          fc.nat(),
          fc.nat(),
          fc.uint8Array({ maxLength: 64 }),
          (md, cut, flip, junk) => {
            const bytes = serializeLedgerMetadata(md);
            parsesOrThrowsTyped(bytes.subarray(0, cut % (bytes.length + 1)));
            const flipped = Buffer.from(bytes);
            const bit = flip % (flipped.length * 8);
            flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7));
            parsesOrThrowsTyped(flipped);
            parsesOrThrowsTyped(Buffer.concat([Buffer.from(HEADER), Buffer.from(junk)]));
            parsesOrThrowsTyped(Buffer.from(junk));
            const v2 = Buffer.concat([Buffer.from('BookieMetadataFormatVersion\t2\n'), Buffer.from(junk)]);
            parsesOrThrowsTyped(v2);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('only ever throws the typed error on random v2 text', () => {
      const token = fc.constantFrom(
        'quorumSize',
        'ensembleSize',
        'segment',
        'state',
        ':',
        '{',
        '}',
        '<',
        '>',
        '"x',
        '"a\\t"',
        '\\',
        '-1',
        '0x7fffffffffffffffff',
        'CLOSED',
        '\n',
        ' ',
        '[',
        ']',
        ',',
        '#',
      );
      fc.assert(
        fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
          parsesOrThrowsTyped(Buffer.from(`BookieMetadataFormatVersion\t2\n${tokens.join('')}`));
        }),
        { numRuns: 500 },
      );
    });
  });
});
