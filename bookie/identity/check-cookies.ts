import type { Logger } from '../../common';
import { BadCookieError, CookieNotFoundError } from '../../metadata';
import type { Cookie, RegistrationManager, VersionedCookie } from '../../metadata';
import { CookieValidationError, type CookieCheck } from './cookie-errors';
import { cookieFilePath, isBookieDirEmpty, readCookieFile, writeCookieFile } from './cookie-file';

/** The part of RegistrationManager the cookie check uses: the cookie at `<scope>/cookies/<bookieId>`. */
export type CookieStore = Pick<RegistrationManager, 'readCookie' | 'writeCookie'>;

export interface CheckCookiesOptions {
  bookieId: string;
  journalDirs: readonly string[];
  ledgerDirs: readonly string[];
  /** Empty or absent: the index lives in the ledger dirs. */
  indexDirs?: readonly string[];
  registrationManager: CookieStore;
  /** The cluster's instance id (`<scope>/instanceid`); undefined for a cluster without one. */
  instanceId: string | undefined;
  /** Allows ledger and index dirs to be added to an existing bookie (allowStorageExpansion). */
  allowStorageExpansion?: boolean;
  logger: Logger;
}

export interface CheckCookiesResult {
  /**
   * `verified`: every cookie matched; `new-bookie`: a brand-new bookie, all cookies written; `expanded`: new
   * empty dirs were added to an existing bookie and all cookies rewritten.
   */
  outcome: 'verified' | 'new-bookie' | 'expanded';
  /** The cookie this configuration generates (now in every dir and in the metadata store). */
  cookie: Cookie;
}

interface BookieDir {
  path: string;
  /** `journal dir /data/j (/data/j/current/VERSION)`, for messages. */
  location: string;
}

interface CookieDifference {
  check: CookieCheck;
  expected: string;
  found: string;
}

const listText = (dirs: readonly string[]): string => `[${dirs.join(', ')}]`;

/**
 * How `found` (a stored cookie) differs from `expected` (the one the configuration generates), in the order
 * BookKeeper's Cookie.verify checks. With `allowSuperSet`, the configured ledger and index dirs may add to the
 * stored ones; journal dirs must always be equal.
 */
function cookieDifference(
  expected: Cookie,
  found: Cookie,
  allowSuperSet: boolean,
): CookieDifference | undefined {
  const dirsFit = (mine: readonly string[], theirs: readonly string[]): boolean =>
    allowSuperSet
      ? theirs.every((d) => mine.includes(d))
      : mine.length === theirs.length && mine.every((d, i) => d === theirs[i]);
  if (expected.bookieId !== found.bookieId) {
    return {
      check: 'bookie-id',
      expected: `bookie id ${expected.bookieId}`,
      found: `bookie id ${found.bookieId}`,
    };
  }
  if (expected.journalDirs.join(',') !== found.journalDirs.join(',')) {
    return {
      check: 'journal-dirs',
      expected: `journal dirs ${listText(expected.journalDirs)}`,
      found: `journal dirs ${listText(found.journalDirs)}`,
    };
  }
  if (!dirsFit(expected.ledgerDirs, found.ledgerDirs)) {
    return {
      check: 'ledger-dirs',
      expected: `ledger dirs ${listText(expected.ledgerDirs)}${allowSuperSet ? ' (or a subset)' : ''}`,
      found: `ledger dirs ${listText(found.ledgerDirs)}`,
    };
  }
  // A cookie without index dirs keeps its index in the ledger dirs.
  const expectedIndex = expected.indexDirs ?? expected.ledgerDirs;
  const foundIndex = found.indexDirs ?? found.ledgerDirs;
  if (!dirsFit(expectedIndex, foundIndex)) {
    return {
      check: 'index-dirs',
      expected: `index dirs ${listText(expectedIndex)}`,
      found: `index dirs ${listText(foundIndex)}`,
    };
  }
  if (expected.instanceId !== found.instanceId) {
    return {
      check: 'instance-id',
      expected: `instance id ${expected.instanceId ?? '(none)'}`,
      found: `instance id ${found.instanceId ?? '(none)'}`,
    };
  }
  return undefined;
}

const HINTS: Record<CookieDifference['check'], string> = {
  'bookie-id':
    'this dir or cookie belongs to another bookie: dirs were swapped between bookies, or the bookie id changed',
  'journal-dirs': 'the journal dirs changed since the cookie was written; restore the previous configuration',
  'ledger-dirs':
    'the ledger dirs changed since the cookie was written; restore them (adding dirs needs allowStorageExpansion=true)',
  'index-dirs':
    'the index dirs changed since the cookie was written; restore them (adding dirs needs allowStorageExpansion=true)',
  'instance-id': 'the cookie was written for another cluster (its instance id differs from this cluster)',
  'unreadable-cookie': 'the cookie is corrupt',
  'missing-local-cookie': 'the dir was wiped or replaced',
  'missing-remote-cookie': 'the metadata store lost this bookie',
  'dir-not-empty': 'the dir holds data that no cookie claims',
};

function mismatch(difference: CookieDifference, location: string): CookieValidationError {
  return new CookieValidationError(
    difference.check,
    location,
    difference.expected,
    difference.found,
    HINTS[difference.check],
  );
}

/** Each configured dir once, labelled by its first role (a dir may be both journal and ledger dir). */
function bookieDirs(options: CheckCookiesOptions): BookieDir[] {
  const dirs = new Map<string, BookieDir>();
  const add = (role: string, paths: readonly string[]): void => {
    for (const path of paths) {
      if (!dirs.has(path))
        dirs.set(path, { path, location: `${role} dir ${path} (${cookieFilePath(path)})` });
    }
  };
  add('journal', options.journalDirs);
  add('ledger', options.ledgerDirs);
  add('index', options.indexDirs ?? []);
  return [...dirs.values()];
}

async function readRemoteCookie(
  store: CookieStore,
  bookieId: string,
  location: string,
): Promise<VersionedCookie | undefined> {
  try {
    return await store.readCookie(bookieId);
  } catch (error) {
    if (error instanceof CookieNotFoundError) return undefined;
    if (error instanceof BadCookieError) {
      throw new CookieValidationError(
        'unreadable-cookie',
        location,
        'a BookKeeper cookie',
        error.message,
        HINTS['unreadable-cookie'],
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * BookKeeper's cookie validation (bookie/LegacyCookieValidation.java) before a bookie starts: the cookie in
 * `current/VERSION` of every journal, ledger and index dir and the one at `<scope>/cookies/<bookieId>` must all
 * match the cookie the configuration generates (bookie id, journal dirs, ledger and index dirs, the cluster's
 * instance id). Throws `CookieValidationError` naming the failed check, or returns what was done:
 *
 * 1. The stored cookie, if any, must match (ledger/index dirs may be a subset with storage expansion).
 * 2. Every local cookie that exists must match too.
 * 3. Dirs without a cookie:
 *    - no stored cookie and no local cookie anywhere: a brand-new bookie. Every dir must be empty; the cookie is
 *      written to every dir, then to the metadata store.
 *    - a stored cookie (or another dir's cookie) exists: the dir was wiped or replaced. Refused, unless storage
 *      expansion is allowed and the dir is a new, empty one the cookies never listed; then every cookie is
 *      rewritten with the new dirs (local first, then the stored one, on its version).
 * 4. Every dir has a cookie but the metadata store has none: refused (the store lost the bookie, or the
 *    bookie was decommissioned).
 *
 * BookKeeper's write order is kept: local cookies, then the stored one. A crash between the two leaves local
 * cookies without a stored one, which the next start refuses (case 4) until an operator looks; it never lets a
 * bookie start on disks it cannot vouch for.
 */
export async function checkAndWriteCookies(options: CheckCookiesOptions): Promise<CheckCookiesResult> {
  const logger = options.logger.child({ component: 'cookie-check', bookieId: options.bookieId });
  const allowExpansion = options.allowStorageExpansion === true;
  const expected: Cookie = {
    bookieId: options.bookieId,
    journalDirs: [...options.journalDirs],
    ledgerDirs: [...options.ledgerDirs],
  };
  if (options.instanceId !== undefined) expected.instanceId = options.instanceId;
  if (options.indexDirs !== undefined && options.indexDirs.length > 0) {
    expected.indexDirs = [...options.indexDirs];
  }
  const dirs = bookieDirs(options);

  const remoteLocation = `the metadata store's cookie for bookie ${options.bookieId}`;
  const remote = await readRemoteCookie(options.registrationManager, options.bookieId, remoteLocation);
  if (remote !== undefined) {
    const difference = cookieDifference(expected, remote.cookie, allowExpansion);
    if (difference !== undefined) throw mismatch(difference, remoteLocation);
  }

  const missing: BookieDir[] = [];
  const withCookie: Array<{ dir: BookieDir; cookie: Cookie }> = [];
  for (const dir of dirs) {
    const cookie = await readCookieFile(dir.path, dir.location);
    if (cookie === undefined) {
      missing.push(dir);
      continue;
    }
    const difference = cookieDifference(expected, cookie, allowExpansion);
    if (difference !== undefined) throw mismatch(difference, dir.location);
    withCookie.push({ dir, cookie });
  }

  if (missing.length === 0) {
    if (remote === undefined) {
      throw new CookieValidationError(
        'missing-remote-cookie',
        remoteLocation,
        `the cookie that ${dirs.length} local dir(s) hold`,
        'no cookie',
        `${HINTS['missing-remote-cookie']} (deleted, decommissioned, or a new cluster under the same scope); ` +
          'the bookie refuses to start on disks the cluster does not know',
      );
    }
    logger.info({ dirs: dirs.length }, 'cookies verified');
    return { outcome: 'verified', cookie: expected };
  }

  const firstMissing = missing[0]!;
  if (remote === undefined && withCookie.length === 0) {
    // A brand-new bookie: nothing anywhere claims an identity, so every dir must be empty.
    for (const dir of missing) await requireEmpty(dir);
    await stamp(dirs, expected);
    await options.registrationManager.writeCookie(expected, 'absent');
    logger.info({ dirs: dirs.length }, 'new bookie: cookies written');
    return { outcome: 'new-bookie', cookie: expected };
  }

  if (remote === undefined) {
    // Some dirs have cookies, some not, and the store has none: refuse on the dir that lost its cookie.
    throw missingLocalCookie(firstMissing, `as ${withCookie[0]!.dir.location} has`);
  }

  if (!allowExpansion) {
    if (withCookie.length === 0) {
      throw new CookieValidationError(
        'missing-local-cookie',
        `every local dir (${dirs.map((d) => d.path).join(', ')})`,
        `the cookie of bookie ${options.bookieId} that the metadata store holds`,
        'no cookie in any dir',
        "the bookie's disks were wiped or replaced while it keeps its identity; it refuses to start, " +
          'because serving empty disks as this bookie could lose acknowledged entries',
      );
    }
    throw missingLocalCookie(firstMissing, `as ${withCookie[0]!.dir.location} and the metadata store have`);
  }

  // Storage expansion: a dir any cookie lists must still have its cookie; only new, empty dirs may join.
  const known = new Set<string>();
  for (const cookie of [remote.cookie, ...withCookie.map((c) => c.cookie)]) {
    for (const d of [...cookie.journalDirs, ...cookie.ledgerDirs, ...(cookie.indexDirs ?? [])]) known.add(d);
  }
  for (const dir of missing) {
    if (known.has(dir.path)) throw missingLocalCookie(dir, 'as the cookies list this dir');
    await requireEmpty(dir);
  }
  await stamp(dirs, expected);
  await options.registrationManager.writeCookie(expected, remote.version);
  logger.info({ added: missing.map((d) => d.path) }, 'storage expanded: cookies rewritten');
  return { outcome: 'expanded', cookie: expected };
}

function missingLocalCookie(dir: BookieDir, because: string): CookieValidationError {
  return new CookieValidationError(
    'missing-local-cookie',
    dir.location,
    `a cookie (${because} one)`,
    'no cookie',
    `${HINTS['missing-local-cookie']}; the bookie refuses to start on it, ` +
      'because serving an empty dir as this bookie could lose acknowledged entries',
  );
}

async function requireEmpty(dir: BookieDir): Promise<void> {
  if (!(await isBookieDirEmpty(dir.path))) {
    throw new CookieValidationError(
      'dir-not-empty',
      dir.location,
      'an empty dir (it has no cookie)',
      'files in its current/ dir',
      `${HINTS['dir-not-empty']}; empty it or point the configuration at another dir`,
    );
  }
}

async function stamp(dirs: readonly BookieDir[], cookie: Cookie): Promise<void> {
  for (const dir of dirs) await writeCookieFile(dir.path, cookie);
}
