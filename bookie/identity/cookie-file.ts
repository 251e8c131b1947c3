import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCookie, serializeCookie, type Cookie } from '../../metadata';
import { CookieValidationError } from './cookie-errors';

/**
 * A bookie dir's cookie file, `<dir>/current/VERSION` (bookie/Cookie.java writeToDirectory), and the checks on
 * the `current` dir that the cookie validation needs. The journal, entry logs and index all live under
 * `current/` too, so "the dir is empty" means `current/` is missing or holds nothing.
 */

export const CURRENT_DIR = 'current';
export const COOKIE_FILE = 'VERSION';
/** Written then renamed over VERSION; a crash may leave it behind, and it is not data. */
const COOKIE_TEMP_FILE = `${COOKIE_FILE}.tmp`;

export function currentDir(dir: string): string {
  return join(dir, CURRENT_DIR);
}

export function cookieFilePath(dir: string): string {
  return join(dir, CURRENT_DIR, COOKIE_FILE);
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * The cookie in `dir`, or `undefined` when the dir (or its cookie) does not exist. A file that is not a cookie
 * throws `CookieValidationError` (`unreadable-cookie`): it is never mistaken for "no cookie".
 */
export async function readCookieFile(dir: string, location: string): Promise<Cookie | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(cookieFilePath(dir));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  try {
    return parseCookie(bytes);
  } catch (error) {
    throw new CookieValidationError(
      'unreadable-cookie',
      location,
      'a BookKeeper cookie',
      error instanceof Error ? error.message : String(error),
      'the cookie file is corrupt; restore it or re-initialize this bookie',
      { cause: error },
    );
  }
}

/** True when `dir/current` is missing or holds nothing but a leftover temp cookie. */
export async function isBookieDirEmpty(dir: string): Promise<boolean> {
  try {
    const names = await readdir(currentDir(dir));
    return names.every((name) => name === COOKIE_TEMP_FILE);
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

/** fsyncs a directory so that the entries created or renamed in it survive a crash. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes the cookie atomically: to a temp file, fsync, rename over `current/VERSION`, fsync `current/`. A crash
 * leaves either the old cookie or the new one, never a torn file. Creating `current/` also fsyncs `dir`.
 */
export async function writeCookieFile(dir: string, cookie: Cookie): Promise<void> {
  const current = currentDir(dir);
  const created = await mkdir(current, { recursive: true });
  if (created !== undefined) await syncDir(dir);
  const temp = join(current, COOKIE_TEMP_FILE);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(serializeCookie(cookie));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, cookieFilePath(dir));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(current);
}
