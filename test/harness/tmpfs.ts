import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/**
 * A real small filesystem for disk-full tests: a tmpfs of `sizeBytes` mounted on `dir` (needs root and
 * mount(8); a failure says so). `unmount()` in afterAll.
 */
export function mountTmpfs(dir: string, sizeBytes: number): { path: string; unmount: () => void } {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot mount a tmpfs at ${dir} (this test needs root and mount(8)): ${stderr ?? error}`);
  }
  return { path: dir, unmount: () => execFileSync('umount', [dir]) };
}

/** Writes zeros to a new file at `path` until the filesystem answers ENOSPC, then gives `leaveFreeBytes` back. */
export function fillUntilEnospc(path: string, leaveFreeBytes = 0): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leaveFreeBytes));
  } finally {
    closeSync(fd);
  }
}
