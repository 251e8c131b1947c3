/**
 * The recovery read's decision rule, exhaustively for every write quorum up to 5 bookies and every mix of
 * answers: positive on one verified copy, negative only when so many bookies lack the entry that it cannot have
 * reached its ack quorum, unknown (recovery fails) when everyone answered and neither holds.
 */
import { recoveryReadVerdict } from '../../../ledger-client/recovery/recovery-read-rules';

describe('ledger-client > recovery > recovery read rule', () => {
  test('every tally of answers, Qa <= Qw <= 5', () => {
    let checked = 0;
    for (let w = 1; w <= 5; w++) {
      for (let a = 1; a <= w; a++) {
        for (let found = 0; found <= w; found++) {
          for (let missing = 0; found + missing <= w; missing++) {
            for (let failed = 0; found + missing + failed <= w; failed++) {
              const verdict = recoveryReadVerdict({ found, missing, failed }, w, a);
              // The bookies that might hold the entry: all but those that said they do not.
              const possibleHolders = w - missing;
              let expected: string;
              if (found > 0) expected = 'found';
              else if (possibleHolders < a) expected = 'absent';
              else if (found + missing + failed === w) expected = 'unknown';
              else expected = 'pending';
              expect({ w, a, found, missing, failed, verdict }).toEqual({
                w,
                a,
                found,
                missing,
                failed,
                verdict: expected,
              });
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  test('a hanging bookie does not stop the decision when the others say the entry is not there (S4)', () => {
    expect(recoveryReadVerdict({ found: 0, missing: 2, failed: 0 }, 3, 2)).toBe('absent');
    expect(recoveryReadVerdict({ found: 0, missing: 1, failed: 0 }, 3, 2)).toBe('pending');
  });

  test('a timeout or a corrupt copy never counts as "not there"', () => {
    expect(recoveryReadVerdict({ found: 0, missing: 1, failed: 2 }, 3, 2)).toBe('unknown');
    expect(recoveryReadVerdict({ found: 0, missing: 0, failed: 3 }, 3, 3)).toBe('unknown');
    expect(recoveryReadVerdict({ found: 0, missing: 1, failed: 0 }, 3, 3)).toBe('absent');
  });
});
