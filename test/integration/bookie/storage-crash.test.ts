/*
 * Goal: DbLedgerStorage never loses a flushed entry when its process is SIGKILLed at any point of a flush or
 * of a compaction, and always reopens.
 *
 * Method: a child process (our TypeScript sources, compiled on the fly with @swc/core) writes two live
 * ledgers plus a garbage ledger per round, flushes, reports the last flushed entry id of each live ledger on
 * stdout, then (in "compact" mode) deletes the garbage ledger and runs a forced major compaction, over and
 * over. The parent SIGKILLs it after a random delay, restarts it on the same directory a few times (each start
 * is itself a recovery), and finally opens the storage itself: every entry ever reported flushed must read back
 * byte-identical, and any entry present beyond that must be intact too. A third test makes the child stop at a
 * named compaction step (the storage's test hook) and SIGKILLs it there, for every step in turn.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../common';
import { BookieMetrics } from '../../../bookie';
import { DbLedgerStorage } from '../../../bookie';
import type { CompactionStep, DbLedgerStorageConfig } from '../../../bookie';
import { TempDirs } from '../../harness';
import { testConfig } from '../../unit/bookie/storage/storage-fixtures';

const ROOT = resolve(__dirname, '..', '..', '..');
const LIVE_LEDGERS = [1n, 2n];
/** Written by the parent's checks between rounds, and left for GC to delete. */
const SCRATCH_LEDGER = 9n;
const ROUNDS = 6;

const CONFIG: DbLedgerStorageConfig = testConfig({ entryLogSizeLimit: 32 * 1024 });

/** The bytes of an entry: ids as a packed entry has them, then a payload derived from them. Runs in the child too. */
function entryBytes(ledgerId: bigint, entryId: number): Buffer {
  const entry = Buffer.alloc(32 + 200 + (entryId % 50));
  entry.writeBigInt64BE(ledgerId, 0);
  entry.writeBigInt64BE(BigInt(entryId), 8);
  entry.writeBigInt64BE(BigInt(entryId - 1), 16);
  for (let i = 32; i < entry.length; i++) entry[i] = (i * 31 + entryId * 7 + Number(ledgerId)) & 0xff;
  return entry;
}

const CHILD = `
const [root, dir, mode, round, stopAt] = process.argv.slice(1);
const { readFileSync } = require('node:fs');
const swc = require(root + '/node_modules/@swc/core');
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const { DbLedgerStorage } = require(root + '/bookie/storage/index.ts');
const { BookieMetrics } = require(root + '/bookie/bookie-metrics.ts');
const { silentLogger } = require(root + '/common/index.ts');
const entryBytes = ${entryBytes.toString()};
const live = ${JSON.stringify(LIVE_LEDGERS.map(String))}.map(BigInt);
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
// Stops (to be SIGKILLed) at the first compaction step named stopAt.
const compactionHooks = {
  onStep: (step) => {
    if (step !== stopAt) return;
    say({ stoppedAt: step });
    return new Promise(() => undefined);
  },
};
(async () => {
  const storage = await DbLedgerStorage.open({
    ledgerDirs: [dir],
    config: ${JSON.stringify(CONFIG)},
    logger: silentLogger(),
    metrics: new BookieMetrics(),
    compactionHooks,
  });
  const next = new Map();
  for (const ledgerId of live) next.set(ledgerId, Number((await storage.getLastEntryId(ledgerId)) ?? -1n) + 1);
  let garbage = 1000n * BigInt(Number(round) + 1);
  for (;;) {
    for (let i = 0; i < 40; i++) {
      for (const ledgerId of live) {
        storage.addEntry(entryBytes(ledgerId, next.get(ledgerId)));
        next.set(ledgerId, next.get(ledgerId) + 1);
      }
      storage.addEntry(entryBytes(garbage, i));
    }
    await storage.flush();
    say({ flushed: live.map((ledgerId) => [String(ledgerId), next.get(ledgerId) - 1]) });
    if (mode === 'compact') {
      await storage.deleteLedger(garbage);
      garbage++;
      const report = await storage.runGc({ ledgerExistsInMetadata: async (id) => live.includes(id), forceMajor: true });
      say({ compacted: report.compactions.length });
    }
  }
})().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\\n');
  process.exit(1);
});
`;

interface RoundResult {
  flushed: Map<bigint, number>;
  compactions: number;
  killDelayMs: number;
  /** The child reached the compaction step it was told to stop at. */
  stopped: boolean;
}

/** Runs the child until it has flushed once, lets it go on for a random while, and SIGKILLs it. */
async function runAndKill(
  dir: string,
  mode: 'flush' | 'compact',
  round: number,
  stopAt: CompactionStep | '-' = '-',
): Promise<RoundResult> {
  const child = spawn(process.execPath, ['-e', CHILD, ROOT, dir, mode, String(round), stopAt], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: RoundResult = {
    flushed: new Map(),
    compactions: 0,
    killDelayMs: Math.floor(Math.random() * 400),
    stopped: false,
  };
  let stderr = '';
  let pending = '';
  let onFlushed: () => void = () => undefined;
  const firstFlush = new Promise<void>((resolveFlush) => (onFlushed = resolveFlush));
  let onStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolveStop) => (onStopped = resolveStop));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = JSON.parse(pending.slice(0, newline)) as {
        flushed?: Array<[string, number]>;
        compacted?: number;
        stoppedAt?: string;
      };
      if (line.stoppedAt !== undefined) {
        result.stopped = true;
        onStopped();
      }
      pending = pending.slice(newline + 1);
      for (const [ledgerId, last] of line.flushed ?? []) result.flushed.set(BigInt(ledgerId), last);
      if (line.flushed !== undefined) onFlushed();
      result.compactions += line.compacted ?? 0;
    }
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const failed = exited.then(() => {
    throw new Error(`child exited by itself (round ${round}): ${stderr}`);
  });
  const noProgress = new AbortController();
  const timeout = sleep(20000, undefined, { signal: noProgress.signal }).then(() => {
    throw new Error(`child made no progress: ${stderr}`);
  });
  timeout.catch(() => undefined);
  try {
    if (stopAt === '-') {
      await Promise.race([firstFlush, failed, timeout]);
      await Promise.race([sleep(result.killDelayMs), failed]);
    } else {
      await Promise.race([stopped, failed, timeout]);
    }
  } finally {
    noProgress.abort();
    child.kill('SIGKILL');
    await exited;
  }
  return result;
}

describe('bookie > storage > crash safety (SIGKILL)', () => {
  const temp = new TempDirs();
  afterAll(() => temp.removeAll());

  test.each(['flush', 'compact'] as const)(
    'a storage SIGKILLed during %s loses no flushed entry and reopens',
    async (mode) => {
      const dir = temp.make(`storage-crash-${mode}-`);
      const flushed = new Map<bigint, number>();
      const rounds: RoundResult[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const result = await runAndKill(dir, mode, round);
        rounds.push(result);
        for (const [ledgerId, last] of result.flushed)
          flushed.set(ledgerId, Math.max(last, flushed.get(ledgerId) ?? -1));
      }
      if (mode === 'compact') expect(rounds.reduce((sum, r) => sum + r.compactions, 0)).toBeGreaterThan(0);
      await expectFlushedEntries(
        dir,
        flushed,
        `kill delays ${rounds.map((r) => r.killDelayMs).join(', ')} ms`,
      );
    },
  );

  test('a storage SIGKILLed exactly at each compaction step loses no flushed entry and reopens', async () => {
    const dir = temp.make('storage-crash-steps-');
    const flushed = new Map<bigint, number>();
    const steps: CompactionStep[] = ['appended', 'synced', 'indexed', 'before-delete'];
    for (const [round, step] of [...steps, ...steps].entries()) {
      const result = await runAndKill(dir, 'compact', round, step);
      expect(result.stopped).toBe(true);
      for (const [ledgerId, last] of result.flushed)
        flushed.set(ledgerId, Math.max(last, flushed.get(ledgerId) ?? -1));
      await expectFlushedEntries(dir, flushed, `killed at ${step}`);
    }
  });
});

/** Opens the storage in this process: every flushed entry (and any entry present) must read back intact. */
async function expectFlushedEntries(
  dir: string,
  flushed: Map<bigint, number>,
  context: string,
): Promise<void> {
  const storage = await DbLedgerStorage.open({
    ledgerDirs: [dir],
    config: CONFIG,
    logger: silentLogger(),
    metrics: new BookieMetrics(),
  });
  try {
    for (const ledgerId of LIVE_LEDGERS) {
      const lastFlushed = flushed.get(ledgerId)!;
      expect(lastFlushed).toBeGreaterThan(0);
      const last = Number(await storage.getLastEntryId(ledgerId));
      expect(last).toBeGreaterThanOrEqual(lastFlushed);
      for (let e = 0; e <= last; e++) {
        const body = await storage.getEntry(ledgerId, BigInt(e));
        if (body === undefined || !body.equals(entryBytes(ledgerId, e))) {
          throw new Error(
            `entry ${ledgerId}/${e} is ${body === undefined ? 'lost' : 'corrupt'} (${context})`,
          );
        }
      }
    }
    // Still a working storage: write a scratch ledger, read it, let GC remove it and compact.
    storage.addEntry(entryBytes(SCRATCH_LEDGER, 0));
    await storage.flush();
    expect((await storage.getEntry(SCRATCH_LEDGER, 0n))!.equals(entryBytes(SCRATCH_LEDGER, 0))).toBe(true);
    await storage.runGc({
      ledgerExistsInMetadata: async (id) => LIVE_LEDGERS.includes(id),
      forceMajor: true,
    });
    expect(await storage.listLedgers()).toEqual(LIVE_LEDGERS);
  } finally {
    await storage.close();
  }
}
