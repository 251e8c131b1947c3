/**
 * Goal: a bookie process killed at any moment loses no acknowledged journal record, and never leaves a
 * lastMark that cannot be read.
 * Method: a child process runs the compiled journal (`dist/`, built by `npm run build`), appends entries with
 * 200 in flight and prints each entryId once its callback reports it durable; the test SIGKILLs it mid-stream,
 * three times in the same journal directory (each run writes its own ledger), then replays the directory and
 * checks every printed entry is there, in order. A second child rewrites lastMark in two ledger directories
 * in a loop, printing each mark once written, and is SIGKILLed the same way. (SIGKILL keeps the page cache;
 * losing unsynced bytes is the unit tests' torn-tail cases.)
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../common';
import { decodeLogMark, LOG_MARK_ZERO, readLastMark, replayJournals } from '../../../bookie';
import { TempDirs } from '../../harness';
import { journalChildScript, requireBuiltJournal } from '../../unit/bookie/journal/journal-child-script';

const temp = new TempDirs();
afterAll(() => temp.removeAll());

const APPENDER = journalChildScript(
  `
const [journalDir, ledgerId] = [process.argv[2], BigInt(process.argv[3])];
(async () => {
  const journal = await openJournal(journalDir);
  let next = 0n;
  const append = () => {
    const entryId = next++;
    const body = Buffer.alloc(32 + 300 + Number(entryId % 700n), 5);
    body.writeBigInt64BE(ledgerId, 0);
    body.writeBigInt64BE(entryId, 8);
    journal.logAddEntry(body, false, (error) => {
      if (error) throw error;
      process.stdout.write(entryId + '\\n');
      append();
    });
  };
  for (let i = 0; i < 200; i++) append();
})();
`,
  { journalBufferedWritesThreshold: 65536, journalMaxSizeMB: 4 },
);

const MARK_WRITER = journalChildScript(`
const dirs = process.argv.slice(2);
(async () => {
  for (let offset = 1n; ; offset++) {
    await writeLastMark(dirs, { logFileId: 0x1234n, offset });
    process.stdout.write(offset + '\\n');
  }
})();
`);

/** Runs `script` until it has printed `lines` lines, SIGKILLs it, and returns the last line it printed. */
function killAfter(script: string, args: string[], lines: number): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let printed: string[] = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split('\n');
      partial = complete.pop()!;
      printed = printed.concat(complete);
      if (!killed && printed.length >= lines) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${stderr}`));
      else resolve(BigInt(printed.at(-1)!));
    });
  });
}

describe('bookie > journal > crash (SIGKILL)', () => {
  beforeAll(requireBuiltJournal);

  it('every acknowledged record survives a SIGKILL, run after run', async () => {
    const dir = temp.make();
    const journalDir = join(dir, 'journal');
    const script = join(dir, 'appender.js');
    writeFileSync(script, APPENDER);
    const lastAcked: bigint[] = [];
    for (const [run, lines] of [2000, 7000, 4500].entries()) {
      lastAcked.push(await killAfter(script, [journalDir, String(run + 1)], lines));
    }
    const replayed = new Map<bigint, bigint[]>();
    const report = await replayJournals({
      journalDir,
      from: LOG_MARK_ZERO,
      logger: silentLogger(),
      visitor: {
        entry: (entry) => {
          const ledgerId = entry.readBigInt64BE(0);
          replayed.set(ledgerId, [...(replayed.get(ledgerId) ?? []), entry.readBigInt64BE(8)]);
        },
        ledgerKey: () => undefined,
        fence: () => undefined,
        explicitLac: () => undefined,
      },
    });
    expect(report.files.length).toBeGreaterThanOrEqual(3);
    for (const [run, acked] of lastAcked.entries()) {
      const entryIds = replayed.get(BigInt(run + 1)) ?? [];
      // Appended in order, so the journal holds 0..n in order, n at least the last acknowledged entryId.
      expect(entryIds.length).toBeGreaterThan(Number(acked));
      expect(entryIds.every((entryId, i) => entryId === BigInt(i))).toBe(true);
    }
  });

  it('lastMark is always a whole mark, the last one written or the one being written', async () => {
    const dir = temp.make();
    const ledgerDirs = [join(dir, 'ledgers-1'), join(dir, 'ledgers-2')];
    const script = join(dir, 'mark-writer.js');
    writeFileSync(script, MARK_WRITER);
    for (const lines of [50, 300]) {
      const written = await killAfter(script, ledgerDirs, lines);
      const mark = await readLastMark(ledgerDirs);
      expect(mark.logFileId).toBe(0x1234n);
      expect(mark.offset === written || mark.offset === written + 1n).toBe(true);
      for (const ledgerDir of ledgerDirs) {
        expect(decodeLogMark(readFileSync(join(ledgerDir, 'current', 'lastMark')))).toBeDefined();
      }
    }
  });
});
