import { closeSync, constants, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Whether files in `dir` (created if missing) open with O_DIRECT: the independent answer a test compares with
 * what the journal or the entry logger decided (both fall back to the page cache where it is refused).
 */
export function takesDirectIo(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  const probe = join(dir, 'direct-io-test-probe');
  try {
    closeSync(openSync(probe, constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { force: true });
  }
}
