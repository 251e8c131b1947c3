import { LedgerlineError } from '../../common';

/**
 * The cookie check that refused the bookie's start (BookKeeper throws InvalidCookieException for all of them;
 * we name the one that failed so an operator knows what to fix):
 *
 * - `unreadable-cookie`: a cookie file or the stored cookie cannot be parsed;
 * - `bookie-id`: a dir (or the stored cookie) belongs to another bookie id: swapped dirs, or a changed bookie id;
 * - `journal-dirs` / `ledger-dirs` / `index-dirs`: the configured dirs differ from the ones the cookie lists;
 * - `instance-id`: the cookie was written for another cluster;
 * - `missing-local-cookie`: a dir lost its cookie while the bookie has an identity elsewhere (a wiped dir);
 * - `missing-remote-cookie`: local cookies exist but the metadata store holds none for this bookie;
 * - `dir-not-empty`: a dir without a cookie already holds data, so it cannot be claimed as new.
 */
export type CookieCheck =
  | 'unreadable-cookie'
  | 'bookie-id'
  | 'journal-dirs'
  | 'ledger-dirs'
  | 'index-dirs'
  | 'instance-id'
  | 'missing-local-cookie'
  | 'missing-remote-cookie'
  | 'dir-not-empty';

/**
 * The bookie must not start: its disks and its identity in the metadata store disagree. Starting anyway could
 * serve a wiped disk as if it held the bookie's entries ("no such entry" where an acknowledged entry was), which
 * lets ledger recovery truncate acknowledged data. The message says which check failed, where, and what was
 * expected versus found.
 */
export class CookieValidationError extends LedgerlineError {
  constructor(
    readonly check: CookieCheck,
    /** Where the mismatch was found, e.g. `ledger dir /data/l1 (/data/l1/current/VERSION)`. */
    readonly location: string,
    readonly expected: string,
    readonly found: string,
    /** What it most likely means for the operator. */
    readonly hint: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      'InvalidCookie',
      `cookie check '${check}' failed at ${location}: expected ${expected}, found ${found}; ${hint}`,
      options,
    );
  }
}
