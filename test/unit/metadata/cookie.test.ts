import fc from 'fast-check';
import {
  BadCookieError,
  cookieMatches,
  cookieMismatch,
  encodeDirPaths,
  InvalidCookieError,
  parseCookie,
  serializeCookie,
  verifyCookie,
  type Cookie,
} from '../../../metadata';

const cookie: Cookie = {
  bookieId: '127.0.0.1:3181',
  journalDirs: ['/data/journal'],
  ledgerDirs: ['/data/ledgers1', '/data/ledgers2'],
  instanceId: '3f1b2c4d-0000-4000-8000-00000000abcd',
  indexDirs: ['/data/index'],
};

describe('metadata > cookie', () => {
  describe('text format', () => {
    it('writes the golden text: layout version 5, then CookieFormat in protobuf text format', () => {
      // The dir lists are "N\tdir..." strings; protobuf-java's TextFormat prints their tabs as the escape \t.
      const golden =
        '5\n' +
        'bookieHost: "127.0.0.1:3181"\n' +
        'journalDir: "/data/journal"\n' +
        'ledgerDirs: "2\\t/data/ledgers1\\t/data/ledgers2"\n' +
        'instanceId: "3f1b2c4d-0000-4000-8000-00000000abcd"\n' +
        'indexDirs: "1\\t/data/index"\n';
      expect(serializeCookie(cookie).toString('utf8')).toBe(golden);
      expect(parseCookie(Buffer.from(golden))).toEqual(cookie);
    });

    it('omits instanceId and indexDirs when absent, and joins journal dirs with commas', () => {
      const minimal: Cookie = { bookieId: 'bookie-1', journalDirs: ['/j1', '/j2'], ledgerDirs: ['/l'] };
      const text = serializeCookie(minimal).toString('utf8');
      expect(text).toBe('5\nbookieHost: "bookie-1"\njournalDir: "/j1,/j2"\nledgerDirs: "1\\t/l"\n');
      expect(parseCookie(Buffer.from(text))).toEqual(minimal);
    });

    it('reads layout version 4 and the line format of layout version 3', () => {
      const v4 = '4\nbookieHost: "h:1"\njournalDir: "/j"\nledgerDirs: "1\\t/l"\ninstanceId: ""\n';
      expect(parseCookie(Buffer.from(v4))).toEqual({
        bookieId: 'h:1',
        journalDirs: ['/j'],
        ledgerDirs: ['/l'],
      });
      const v3 = '3\nh:1\n/j\n2\t/l1\t/l2\n';
      expect(parseCookie(Buffer.from(v3))).toEqual({
        bookieId: 'h:1',
        journalDirs: ['/j'],
        ledgerDirs: ['/l1', '/l2'],
      });
    });

    it('encodes dir lists as BookKeeper does', () => {
      expect(encodeDirPaths(['/a', '/b'])).toBe('2\t/a\t/b');
      expect(encodeDirPaths([])).toBe('0');
    });

    it('round-trips any cookie, whatever characters its strings hold', () => {
      const dir = fc
        .string({ minLength: 1, maxLength: 12 })
        .filter((s) => !s.includes('\t') && !s.includes(','));
      fc.assert(
        fc.property(
          fc.record(
            {
              bookieId: fc.string({ minLength: 1, maxLength: 20 }),
              journalDirs: fc.array(dir, { minLength: 1, maxLength: 3 }),
              ledgerDirs: fc.array(dir, { minLength: 1, maxLength: 3 }),
              instanceId: fc.string({ minLength: 1, maxLength: 36 }),
              indexDirs: fc.array(dir, { minLength: 1, maxLength: 3 }),
            },
            { requiredKeys: ['bookieId', 'journalDirs', 'ledgerDirs'] },
          ),
          (c) => {
            expect(parseCookie(serializeCookie(c))).toEqual(c);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('rejects garbage with the typed error only', () => {
      const cases = [
        '',
        'x',
        '6\nbookieHost: "a"',
        '5\nbookieHost: "a"\n',
        '5\nbookieHost: "a\njournalDir: "/j"',
      ];
      for (const text of cases) expect(() => parseCookie(Buffer.from(text))).toThrow(BadCookieError);
      fc.assert(
        fc.property(fc.string({ maxLength: 80 }), fc.nat(), (junk, cut) => {
          const golden = serializeCookie(cookie);
          for (const bytes of [Buffer.from(`5\n${junk}`), golden.subarray(0, cut % golden.length)]) {
            try {
              parseCookie(bytes);
            } catch (error) {
              expect(error).toBeInstanceOf(BadCookieError);
            }
          }
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('matching', () => {
    it('matches itself and accepts added ledger dirs only as a superset', () => {
      expect(cookieMatches(cookie, { ...cookie })).toBe(true);
      const expanded = { ...cookie, ledgerDirs: [...cookie.ledgerDirs, '/data/ledgers3'] };
      expect(cookieMatches(expanded, cookie)).toBe(false);
      expect(cookieMatches(expanded, cookie, { allowSuperSet: true })).toBe(true);
      expect(cookieMatches(cookie, expanded, { allowSuperSet: true })).toBe(false);
    });

    it('names the difference: bookie id, journal dirs, ledger dirs, index dirs, instance id', () => {
      expect(cookieMismatch(cookie, { ...cookie, bookieId: 'other:3181' })).toMatch(/bookie id/);
      expect(cookieMismatch(cookie, { ...cookie, journalDirs: ['/j'] })).toMatch(/journal dirs/);
      expect(cookieMismatch(cookie, { ...cookie, ledgerDirs: ['/data/ledgers1'] })).toMatch(/ledger dirs/);
      expect(cookieMismatch(cookie, { ...cookie, indexDirs: ['/x'] })).toMatch(/index dirs/);
      const { instanceId: _instanceId, ...noInstance } = cookie;
      expect(cookieMismatch(cookie, noInstance)).toMatch(/instance id/);
      expect(() => verifyCookie(cookie, { ...cookie, instanceId: 'x' })).toThrow(InvalidCookieError);
    });

    it('treats a cookie without index dirs as keeping its index in its ledger dirs', () => {
      const { indexDirs: _indexDirs, ...plain } = cookie;
      expect(cookieMatches({ ...plain, indexDirs: plain.ledgerDirs }, plain)).toBe(true);
    });
  });
});
