import { BadCookieError, InvalidCookieError } from './bookkeeper-errors';
import {
  lastTextField,
  parseTextFormat,
  printTextString,
  textBytes,
  TextFormatError,
  type TextField,
} from './text-format';

/**
 * A bookie's cookie (bookie/Cookie.java): who the bookie is and which disks it owns, written to `current/VERSION`
 * in every journal, ledger and index directory and to `<scope>/cookies/<bookieId>`. A bookie refuses to start
 * when they disagree, so a bookie never comes up with a disk missing or under another identity.
 *
 * Text (layout version 5, as BookKeeper writes it; 4 reads the same way):
 *
 *   5
 *   bookieHost: "127.0.0.1:3181"
 *   journalDir: "/data/journal"            journal dirs joined with ','
 *   ledgerDirs: "2\t/data/l1\t/data/l2"    count, then each dir, tab-separated (printed escaped as \t)
 *   instanceId: "<cluster instance id>"    optional
 *   indexDirs: "1\t/data/index"            optional, encoded like ledgerDirs
 *
 * Layout version 3 is the same values, one per line, without field names (bookieId, journal, ledger dirs).
 */
export interface Cookie {
  bookieId: string;
  journalDirs: string[];
  ledgerDirs: string[];
  instanceId?: string;
  indexDirs?: string[];
}

export const COOKIE_LAYOUT_VERSION = 5;
/** Cookies are a few hundred bytes; anything far larger is not a cookie. */
const COOKIE_BYTES_MAX = 1024 * 1024;

/** `N\tdir1\t...\tdirN`, BookKeeper's encoding of a directory list. */
export function encodeDirPaths(dirs: readonly string[]): string {
  return [String(dirs.length), ...dirs].join('\t');
}

function decodeDirPaths(encoded: string): string[] {
  const tab = encoded.indexOf('\t');
  if (tab < 0) {
    if (/^0?$/.test(encoded)) return [];
    throw new BadCookieError(`directory list '${encoded}' lacks its count`);
  }
  const dirs = encoded.slice(tab + 1).split('\t');
  if (encoded.slice(0, tab) !== String(dirs.length)) {
    throw new BadCookieError(`directory list '${encoded}' does not hold the number of dirs it announces`);
  }
  return dirs;
}

export function serializeCookie(cookie: Cookie): Buffer {
  if (cookie.bookieId.length === 0) throw new BadCookieError('bookieId is empty');
  let text = `${COOKIE_LAYOUT_VERSION}\n`;
  text += printTextString('bookieHost', cookie.bookieId);
  text += printTextString('journalDir', cookie.journalDirs.join(','));
  text += printTextString('ledgerDirs', encodeDirPaths(cookie.ledgerDirs));
  if (cookie.instanceId !== undefined) text += printTextString('instanceId', cookie.instanceId);
  if (cookie.indexDirs !== undefined) text += printTextString('indexDirs', encodeDirPaths(cookie.indexDirs));
  return Buffer.from(text, 'utf8');
}

/** Parses layout versions 3 to 5; anything else throws `BadCookieError`. */
export function parseCookie(bytes: Buffer): Cookie {
  if (bytes.length > COOKIE_BYTES_MAX)
    throw new BadCookieError(`${bytes.length} bytes is too large for a cookie`);
  const text = bytes.toString('utf8');
  const newline = text.indexOf('\n');
  const first = (newline < 0 ? text : text.slice(0, newline)).trim();
  if (!/^[0-9]{1,9}$/.test(first))
    throw new BadCookieError(`invalid layout version line '${first.slice(0, 40)}'`);
  const layoutVersion = Number(first);
  const rest = newline < 0 ? '' : text.slice(newline + 1);
  if (layoutVersion === 3) {
    const [bookieId, journal, ledgers] = rest.split('\n');
    if (bookieId === undefined || journal === undefined || ledgers === undefined) {
      throw new BadCookieError('layout version 3 cookie is truncated');
    }
    return { bookieId, journalDirs: journal.split(','), ledgerDirs: decodeDirPaths(ledgers) };
  }
  if (layoutVersion < 3 || layoutVersion > COOKIE_LAYOUT_VERSION) {
    throw new BadCookieError(`cookie layout version ${layoutVersion} is not supported (3 to 5 are)`);
  }
  let fields: TextField[];
  try {
    fields = parseTextFormat(rest);
  } catch (error) {
    throw new BadCookieError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const string = (name: string, required: boolean): string | undefined => {
    const value = lastTextField(fields, name);
    if (value === undefined) {
      if (required) throw new BadCookieError(`missing required field '${name}'`);
      return undefined;
    }
    try {
      return textBytes(value, name).toString('utf8');
    } catch (error) {
      throw new BadCookieError(error instanceof TextFormatError ? error.message : String(error));
    }
  };
  const known = new Set(['bookieHost', 'journalDir', 'ledgerDirs', 'instanceId', 'indexDirs']);
  for (const field of fields) {
    if (!known.has(field.name)) throw new BadCookieError(`unknown field '${field.name}'`);
  }
  const cookie: Cookie = {
    bookieId: string('bookieHost', true)!,
    journalDirs: string('journalDir', true)!.split(','),
    ledgerDirs: decodeDirPaths(string('ledgerDirs', true)!),
  };
  // As in BookKeeper, an empty instanceId or indexDirs means none.
  const instanceId = string('instanceId', false);
  if (instanceId !== undefined && instanceId.length > 0) cookie.instanceId = instanceId;
  const indexDirs = string('indexDirs', false);
  if (indexDirs !== undefined && indexDirs.length > 0) cookie.indexDirs = decodeDirPaths(indexDirs);
  return cookie;
}

/**
 * Why `stored` (the cookie found on disk or in the store) does not fit `configured` (the cookie the bookie's
 * configuration generates), or `undefined` when it fits. With `allowSuperSet`, the configured ledger and index
 * dirs may add to the stored ones (storage expansion); otherwise they must be equal, in order.
 */
export function cookieMismatch(
  configured: Cookie,
  stored: Cookie,
  options: { allowSuperSet?: boolean } = {},
): string | undefined {
  const dirsFit = (mine: readonly string[], theirs: readonly string[]): boolean =>
    options.allowSuperSet === true
      ? theirs.every((d) => mine.includes(d))
      : mine.length === theirs.length && mine.every((d, i) => d === theirs[i]);
  if (configured.bookieId !== stored.bookieId) {
    return `bookie id ${configured.bookieId} is not ${stored.bookieId}`;
  }
  if (configured.journalDirs.join(',') !== stored.journalDirs.join(',')) {
    return `journal dirs [${configured.journalDirs}] are not [${stored.journalDirs}]`;
  }
  if (!dirsFit(configured.ledgerDirs, stored.ledgerDirs)) {
    return `ledger dirs [${configured.ledgerDirs}] do not match [${stored.ledgerDirs}]`;
  }
  // A cookie without index dirs keeps its index in the ledger dirs.
  const myIndex = configured.indexDirs ?? configured.ledgerDirs;
  const theirIndex = stored.indexDirs ?? stored.ledgerDirs;
  if (!dirsFit(myIndex, theirIndex)) return `index dirs [${myIndex}] do not match [${theirIndex}]`;
  if (configured.instanceId !== stored.instanceId) {
    return `instance id ${configured.instanceId ?? '(none)'} is not ${stored.instanceId ?? '(none)'}`;
  }
  return undefined;
}

export function cookieMatches(
  configured: Cookie,
  stored: Cookie,
  options: { allowSuperSet?: boolean } = {},
): boolean {
  return cookieMismatch(configured, stored, options) === undefined;
}

/** Throws `InvalidCookieError` naming the difference unless the cookies match. */
export function verifyCookie(
  configured: Cookie,
  stored: Cookie,
  options: { allowSuperSet?: boolean } = {},
): void {
  const reason = cookieMismatch(configured, stored, options);
  if (reason !== undefined) throw new InvalidCookieError(reason);
}
