/**
 * Goal: a journal whose fdatasync (or write) fails never acknowledges a record that was not made durable:
 * the records of the failing group and every record after it get the error, the failure is reported once,
 * and the process keeps running.
 * Method: a small child script drives the compiled journal (`dist/`, built by `npm run build`) under strace,
 * which fails the real system call on the journal file only (`-P <file>`, `-e inject=...`): fdatasync with EIO
 * from a thread's 3rd call on, or pwrite64 with ENOSPC from its 4th. strace counts per thread, and the journal's
 * group writes and syncs run on libuv's thread pool, as does the background zero-fill: the child gets one pool
 * thread (UV_THREADPOOL_SIZE=1), so every write and sync of the file is counted on it. With four threads the
 * writes spread over them and, in one CI run, none reached its 4th pwrite: nothing was injected and the test
 * failed. The journal's file name is known in advance
 * because a header-only journal file with a future id already sits in the directory (the next id is that + 1).
 * The child prints one JSON line per callback, in callback order; the test reads them after it exits.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeJournalHeader, journalFileName } from '../../../bookie';
import { TempDirs } from '../../harness';
import { journalChildScript, requireBuiltJournal } from '../../unit/bookie/journal/journal-child-script';

const run = promisify(execFile);
const temp = new TempDirs();
afterAll(() => temp.removeAll());

/** Appends `groups` groups of `perGroup` entries, one group at a time; reports every callback and the failure. */
const CHILD = journalChildScript(`
const [journalDir, groups, perGroup] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const print = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
const entry = (entryId) => {
  const body = Buffer.alloc(32 + 200, 1);
  body.writeBigInt64BE(1n, 0);
  body.writeBigInt64BE(BigInt(entryId), 8);
  return body;
};
(async () => {
  const journal = await openJournal(journalDir);
  journal.onFailure((error) => print({ failure: error.code, cause: error.cause && error.cause.code }));
  let id = 0;
  for (let group = 0; group < groups; group++) {
    await Promise.all(Array.from({ length: perGroup }, () => new Promise((resolve) => {
      const entryId = id++;
      journal.logAddEntry(entry(entryId), false, (error) => {
        print(error ? { entryId, group, error: error.code, cause: error.cause && error.cause.code } : { entryId, group, ok: true });
        resolve();
      });
    })));
  }
  await journal.close();
  print({ closed: true });
})().catch((error) => { print({ crashed: String(error) }); process.exitCode = 1; });
`);

interface Line {
  entryId?: number;
  group?: number;
  ok?: boolean;
  error?: string;
  cause?: string;
  failure?: string;
  closed?: boolean;
  crashed?: string;
}

async function runUnderStrace(inject: string[]): Promise<{ lines: Line[]; straceLog: string }> {
  const dir = temp.make();
  const journalDir = join(dir, 'journal');
  mkdirSync(join(journalDir, 'current'), { recursive: true });
  const future = BigInt(Date.now()) + 3_600_000n;
  writeFileSync(join(journalDir, 'current', journalFileName(future)), encodeJournalHeader());
  const journalFile = join(journalDir, 'current', journalFileName(future + 1n));
  const script = join(dir, 'child.js');
  writeFileSync(script, CHILD);
  const straceLog = join(dir, 'strace.log');
  const { stdout } = await run(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      straceLog,
      '-P',
      journalFile,
      ...inject,
      process.execPath,
      script,
      journalDir,
      '6',
      '20',
    ],
    { timeout: 30000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } },
  );
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
  return { lines, straceLog: readFileSync(straceLog, 'utf8') };
}

/** The callbacks, in the order they ran: a prefix acknowledged, then only errors. */
function expectNoAckAfterFailure(lines: Line[], cause: string): void {
  expect(lines.find((line) => line.crashed)).toBeUndefined();
  expect(lines.at(-1)).toEqual({ closed: true });
  const callbacks = lines.filter((line) => line.entryId !== undefined);
  expect(callbacks.map((line) => line.entryId)).toEqual([...Array(120).keys()]);
  const firstError = callbacks.findIndex((line) => line.error !== undefined);
  expect(firstError).toBeGreaterThanOrEqual(0);
  const afterFailure = callbacks.slice(firstError);
  expect(afterFailure.every((line) => line.error === 'JournalFailed' && line.cause === cause)).toBe(true);
  // The whole group in flight when the call failed was refused, not just part of it.
  const failedGroup = callbacks[firstError]!.group!;
  expect(
    callbacks.filter((line) => line.group === failedGroup).every((line) => line.error !== undefined),
  ).toBe(true);
  expect(lines.filter((line) => line.failure)).toEqual([{ failure: 'JournalFailed', cause }]);
  // Once the failure is reported, nothing is acknowledged any more.
  const failureAt = lines.findIndex((line) => line.failure);
  expect(lines.slice(failureAt).some((line) => line.ok)).toBe(false);
}

describe('bookie > journal > fault injection (strace)', () => {
  beforeAll(requireBuiltJournal);

  it('a failed fdatasync (EIO) acknowledges nothing from the failing group on', async () => {
    const { lines, straceLog } = await runUnderStrace([
      '-e',
      'trace=fdatasync,openat',
      '-e',
      'inject=fdatasync:error=EIO:when=3+',
    ]);
    expect(straceLog).toMatch(/fdatasync\(\d+\)\s+= -1 EIO .*\(INJECTED\)/);
    expectNoAckAfterFailure(lines, 'EIO');
    // Not retried: after its first failed fdatasync the journal never syncs its descriptor again (a failed sync
    // proves nothing). The file has two descriptors: the zero-fill's (opened to create it) and the journal's
    // (opened read-write after), and any libuv thread may run either's sync, so the check goes by descriptor. A
    // fill's sync in progress when the journal failed may still run: it acknowledges nothing.
    const journalFd = /openat\(.*O_RDWR.*\) = (\d+)/.exec(straceLog)?.[1];
    expect(journalFd).toBeDefined();
    const journalSync = new RegExp(`fdatasync\\(${journalFd}(\\)|\\s<unfinished)`);
    const journalSyncs = straceLog.split('\n').filter((line) => journalSync.test(line));
    // About one run in four, the fill's sync is the first to fail: the journal then fails through the fill
    // (the same acknowledgements, checked above), and its own descriptor never saw a failed sync to retry.
    const failedAt = journalSyncs.findIndex((line) => line.includes('INJECTED'));
    if (failedAt >= 0) expect(journalSyncs.slice(failedAt + 1)).toEqual([]);
  });

  it('a failed write (ENOSPC) acknowledges nothing from the failing group on', async () => {
    const { lines, straceLog } = await runUnderStrace([
      '-e',
      'trace=pwrite64',
      '-e',
      'inject=pwrite64:error=ENOSPC:when=4+',
    ]);
    expect(straceLog).toMatch(/pwrite64\(.*\) = -1 ENOSPC .*\(INJECTED\)/);
    expectNoAckAfterFailure(lines, 'ENOSPC');
  });
});
