/**
 * Goal: a power cut loses nothing a bookie acknowledged — and the test can tell: with fsync-before-ack turned
 * off (journalSyncData=false) the same power cut does lose acknowledged entries.
 *
 * Method (reference reliability.md §5, "lost un-fsynced writes", option 2). The bare bookie process
 * (test/fixtures/bookie-process.js: real journal, real DbLedgerStorage) runs under strace, which logs every
 * write and sync with the file it touched. A client keeps adds in flight over several ledgers and records
 * which were acknowledged; the bookie is SIGKILLed; then every journal file and entry log is rolled back to
 * what its syncs made durable, as derived from the strace log alone (test/harness/power-cut.ts), with a torn
 * tail of random length. The bookie restarts (without strace) and every acknowledged entry is read back.
 *
 * RocksDB (the index) and the lastMark file are left as they are: the bookie writes them only in synced
 * batches or atomically, after the entry-log bytes they point at were synced, so their page-cache state is
 * their durable state.
 *
 * The kill is aimed, so that the control is deterministic. The test watches the strace log until a sync of the
 * journal starts, then marks the adds it sends from that moment on as sentinels, and kills once enough of them
 * are acknowledged and the file aimed at (a journal group, or a checkpoint's entry-log writes) holds written
 * bytes whose sync has not completed — strace delays each fdatasync by 20 ms, so the cut always takes bytes
 * away and is never vacuous. A sentinel was written after the last sync the test saw start; with
 * journalSyncData=false the journal syncs only once a second (and, with the preallocation settings below,
 * never for a zero-fill), so no sync can cover the sentinels before the kill if it comes within
 * SENTINEL_WINDOW_MS: each acknowledged sentinel must be lost. With journalSyncData=true each of them was synced
 * before it was acknowledged, and none may be lost.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatusCode, masterKey } from '../../../protocol';
import {
  BookieClient,
  cutPower,
  durabilityFromStrace,
  EntryPacker,
  requireBuiltBookie,
  seededRandom,
  startBareBookie,
  TempDirs,
} from '../../harness';
import type { BookieProcess, FileDurability } from '../../harness';

const PASSWORD = Buffer.from('power-cut');
const KEY = masterKey(PASSWORD);
const LEDGERS = 8;
const IN_FLIGHT = 64;
const SENTINELS = 200;
const LOAD_TIMEOUT_MS = 15000;
/** Well below the 1 s between the journal's periodic syncs with journalSyncData=false. */
const SENTINEL_WINDOW_MS = 600;
/**
 * Every write and sync with the path of its file. Each fdatasync waits 20 ms before it enters the kernel, so
 * that a group the journal has written stays unsynced long enough for the kill to land on it.
 */
const STRACE = [
  '-f',
  '-qq',
  '-y',
  '-s',
  '0',
  '-e',
  'trace=write,pwrite64,pwritev,writev,fdatasync,fsync,ftruncate,fallocate',
  '-e',
  'inject=fdatasync:delay_enter=20000',
];
/** A call on a file in the strace log: pid, call, path; and a sync's result after its `<unfinished ...>` line. */
const CALL_ON_FILE = /^(\d+) +(\w+)\(\d+<([^>]*)>/;
const SYNC_RESUMED_OK = /^(\d+) +<\.\.\. f(?:data)?sync resumed>.*= 0/;
const JOURNAL_PATH = /\/journal\/current\/[0-9a-f]+\.txn$/;
/** A pwrite64 of the journal's zero-fill: its 1 MiB chunk of zeros (count, then offset, in the strace line). */
const ZERO_FILL_WRITE = /, 1048576, \d+\) += 1048576$/;
const ENTRY_LOG_PATH = /\/ledgers\/current\/[0-9a-f]+\.log$/;

interface Scenario {
  settings: string[];
  /** What the kill aims at: a journal group written and not yet synced, or a checkpoint's entry-log writes. */
  aimAt: 'journal' | 'entry-log';
  /** Acknowledged adds before the test looks for a sync to aim at, so the files hold some history. */
  warmUpAcks: number;
}

/**
 * One journal file from the start, preallocated whole (journalPreAllocSizeMB = journalMaxSizeMB, so there is no
 * background zero-fill and no roll while the load stays under 64 MiB), and no checkpoint during the run: with
 * journalSyncData=false the journal's only syncs are the periodic ones, and it is the only copy of an entry.
 */
const AIMED: Scenario = {
  settings: ['journalPreAllocSizeMB=64', 'journalMaxSizeMB=64', 'flushInterval=600000'],
  aimAt: 'journal',
  warmUpAcks: 600,
};
/**
 * Everything moving: checkpoints every 150 ms into a small write cache, journal zero-fill, and a roll (the
 * warm-up alone writes more than 2 MiB of journal: entries average ~850 bytes). The kill lands in a checkpoint,
 * after its entry-log writes and before their sync completed.
 */
const BUSY: Scenario = {
  settings: [
    'flushInterval=150',
    'dbStorage_writeCacheMaxSizeMb=4',
    'journalPreAllocSizeMB=1',
    'journalMaxSizeMB=2',
    'maxBackupJournals=1',
  ],
  aimAt: 'entry-log',
  warmUpAcks: 3000,
};

const packer = new EntryPacker(PASSWORD);

function body(ledgerId: bigint, entryId: bigint): Buffer {
  const payload = Buffer.alloc(
    100 + Number((ledgerId * 7919n + entryId * 104729n) % 1400n),
    Number(entryId % 251n),
  );
  payload.writeBigInt64BE(ledgerId, 0);
  payload.writeBigInt64BE(entryId, 8);
  return packer.pack(ledgerId, entryId, payload);
}

interface Added {
  ledgerId: bigint;
  entryId: bigint;
  sentinel: boolean;
}

interface Outcome {
  acknowledged: Added[];
  lost: Added[];
  /** Acknowledged entries read back with other bytes than were added: never allowed. */
  changed: Added[];
  cutBytes: number;
  files: FileDurability[];
}

/**
 * Follows the strace log as it grows: how many journal syncs have started, and whether a journal or an entry
 * log has been written since its last sync completed — bytes a kill now would take away (each sync waits
 * 20 ms, the injection in STRACE). The journal's zero-fill writes do not count: they are whole ZERO_FILL_CHUNK
 * writes (a group of this test's load is far smaller), from the thread pool as the journal's own group writes
 * are with direct writes (on the event loop through the page cache).
 */
class StraceTail {
  journalSyncs = 0;
  readonly unsynced = { journal: false, 'entry-log': false };
  private position = 0;
  private partial = '';
  /** pid → the kind of file its unfinished sync is on. */
  private readonly syncing = new Map<string, 'journal' | 'entry-log'>();

  constructor(private readonly path: string) {}

  poll(): void {
    let chunk: Buffer;
    try {
      chunk = readFileSync(this.path).subarray(this.position);
    } catch {
      return; // the test was abandoned and its directory removed
    }
    this.position += chunk.length;
    const lines = (this.partial + chunk.toString('latin1')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.read(line);
  }

  private read(line: string): void {
    const resumed = SYNC_RESUMED_OK.exec(line);
    if (resumed !== null) {
      const kind = this.syncing.get(resumed[1]!);
      if (kind !== undefined) this.unsynced[kind] = false;
      this.syncing.delete(resumed[1]!);
      return;
    }
    const call = CALL_ON_FILE.exec(line);
    if (call === null) return;
    const [, pid, name, path] = call as unknown as [string, string, string, string];
    const kind = JOURNAL_PATH.test(path) ? 'journal' : ENTRY_LOG_PATH.test(path) ? 'entry-log' : undefined;
    if (kind === undefined) return;
    if (name === 'fdatasync' || name === 'fsync') {
      if (kind === 'journal') this.journalSyncs++;
      if (line.endsWith('<unfinished ...>')) this.syncing.set(pid, kind);
      else if (/= 0/.test(line)) this.unsynced[kind] = false;
    } else if (name === 'pwrite64' && (kind === 'entry-log' || !ZERO_FILL_WRITE.test(line))) {
      this.unsynced[kind] = true;
    }
  }
}

/**
 * Adds over IN_FLIGHT lanes until the aimed kill: after `scenario.warmUpAcks` acknowledgements, the next journal
 * sync seen in the strace log opens a sentinel window; once SENTINELS sentinels are acknowledged inside it, the
 * kill lands as soon as the file aimed at holds written, unsynced bytes. A window that closes first is dropped
 * and the next sync opens another.
 */
async function loadAndKill(bookie: BookieProcess, straceLog: string, scenario: Scenario): Promise<Added[]> {
  const client = await BookieClient.connect(bookie.port);
  const tail = new StraceTail(straceLog);
  const acknowledged: Added[] = [];
  const nextEntryId = new Map<bigint, bigint>();
  let window: { openedAtMs: number; acked: number } | undefined;
  let killed: Promise<unknown> | undefined;
  const startedAtMs = Date.now();
  let syncsSeen = 0;
  let timedOut = false;

  const watch = setInterval(() => {
    if (killed !== undefined) return;
    const now = Date.now();
    if (now - startedAtMs > LOAD_TIMEOUT_MS) {
      // No aimed kill in time: stop anyway, and fail below.
      timedOut = true;
      killed = bookie.stop('SIGKILL');
      return;
    }
    tail.poll();
    if (window !== undefined && now - window.openedAtMs > SENTINEL_WINDOW_MS) window = undefined;
    if (window === undefined && acknowledged.length >= scenario.warmUpAcks && tail.journalSyncs > syncsSeen) {
      window = { openedAtMs: now, acked: 0 };
    }
    syncsSeen = tail.journalSyncs;
    if (window !== undefined && window.acked >= SENTINELS && tail.unsynced[scenario.aimAt]) {
      killed = bookie.stop('SIGKILL');
    }
  }, 2);

  const lane = async (laneIndex: number): Promise<void> => {
    while (killed === undefined && client.open) {
      const ledgerId = BigInt((laneIndex % LEDGERS) + 1);
      const entryId = nextEntryId.get(ledgerId) ?? 0n;
      nextEntryId.set(ledgerId, entryId + 1n);
      const sentWindow = window;
      let response;
      try {
        response = await client.addEntry({
          ledgerId,
          entryId,
          masterKey: KEY,
          body: body(ledgerId, entryId),
        });
      } catch {
        return; // the connection went down with the bookie
      }
      if (response.status !== StatusCode.EOK || killed !== undefined) continue;
      const sentinel = sentWindow !== undefined && sentWindow === window;
      acknowledged.push({ ledgerId, entryId, sentinel });
      if (sentinel) sentWindow.acked++;
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => lane(i)));
  } finally {
    clearInterval(watch);
  }
  if (killed === undefined) throw new Error(`the connection closed before the kill:\n${bookie.stderr()}`);
  await killed;
  await client.closed;
  if (timedOut) {
    throw new Error(`no kill was aimed within ${LOAD_TIMEOUT_MS} ms (journal syncs seen: ${syncsSeen})`);
  }
  return acknowledged;
}

/**
 * One traced run, kill and power cut, then the read-back. `tornTailSeed`: each cut file keeps a random prefix
 * (< 4 KiB) of its first lost range, as a torn write would; undefined: clean cuts.
 */
async function powerCutRun(
  dirs: TempDirs,
  scenario: Scenario,
  journalSyncData: boolean,
  tornTailSeed: number | undefined,
): Promise<Outcome> {
  const settings = [...scenario.settings, `journalSyncData=${journalSyncData}`];
  const random = tornTailSeed === undefined ? () => 0 : seededRandom(tornTailSeed);
  const dataDir = dirs.make('bookie-power-cut-');
  const straceLog = join(dataDir, 'strace.log');
  const traced = await startBareBookie(dataDir, settings, {
    wrapper: ['strace', ...STRACE, '-o', straceLog],
  });
  const acknowledged = await loadAndKill(traced, straceLog, scenario);

  const journalDir = join(dataDir, 'journal', 'current');
  const entryLogDir = join(dataDir, 'ledgers', 'current');
  const isEntryLog = (path: string): boolean =>
    path.startsWith(`${entryLogDir}/`) && /^[0-9a-f]+\.log$/.test(path.slice(entryLogDir.length + 1));
  const files = durabilityFromStrace(
    readFileSync(straceLog, 'utf8'),
    (path) => (path.startsWith(`${journalDir}/`) && path.endsWith('.txn')) || isEntryLog(path),
  ).filter((file) => existsSync(file.path)); // journal files deleted by a checkpoint
  let cutBytes = 0;
  for (const file of files) {
    const lostBytes = file.lostRanges.reduce((sum, r) => sum + r.end - r.start, 0);
    cutBytes += cutPower(file, {
      appendOnly: isEntryLog(file.path),
      tornBytes: Math.floor(random() * Math.min(lostBytes, 4096)),
    });
  }

  const restarted = await startBareBookie(dataDir, settings);
  try {
    const client = await BookieClient.connect(restarted.port);
    const lost: Added[] = [];
    const changed: Added[] = [];
    for (let i = 0; i < acknowledged.length; i += 256) {
      await Promise.all(
        acknowledged.slice(i, i + 256).map(async (added) => {
          const read = await client.readEntry(added.ledgerId, added.entryId);
          if (read.status !== StatusCode.EOK) lost.push(added);
          else if (!read.readResponse?.body?.equals(body(added.ledgerId, added.entryId))) changed.push(added);
        }),
      );
    }
    await client.close();
    return { acknowledged, lost, changed, cutBytes, files };
  } finally {
    await restarted.stop('SIGKILL');
  }
}

function describeOutcome(outcome: Outcome): string {
  return JSON.stringify({
    acknowledged: outcome.acknowledged.length,
    sentinels: outcome.acknowledged.filter((a) => a.sentinel).length,
    lost: outcome.lost.length,
    changed: outcome.changed.length,
    cutBytes: outcome.cutBytes,
    files: outcome.files.map((f) => ({
      file: f.path.split('/').slice(-3).join('/'),
      durableBytes: f.durableBytes,
      lost: f.lostRanges.reduce((sum, r) => sum + r.end - r.start, 0),
    })),
  });
}

describe('bookie > faults > power cut (un-fsynced bytes lost)', () => {
  const dirs = new TempDirs();
  beforeAll(requireBuiltBookie);
  afterAll(() => dirs.removeAll());

  /** Nothing acknowledged lost or changed, though the cut did take written, unsynced bytes away. */
  function expectNothingLost(outcome: Outcome): void {
    const summary = describeOutcome(outcome);
    expect(outcome.acknowledged.filter((a) => a.sentinel).length).toBeGreaterThanOrEqual(SENTINELS);
    expect({ summary, cut: outcome.cutBytes > 0, lost: outcome.lost, changed: outcome.changed }).toEqual({
      summary,
      cut: true,
      lost: [],
      changed: [],
    });
  }

  test('journalSyncData=true: every acknowledged entry survives, sentinels included', async () => {
    expectNothingLost(await powerCutRun(dirs, AIMED, true, 1));
  });

  test('control, journalSyncData=false (ack before fsync): the same power cut loses every sentinel', async () => {
    // Clean cuts: a torn prefix could keep a sentinel's whole record, and the claim is about every sentinel.
    const outcome = await powerCutRun(dirs, AIMED, false, undefined);
    const summary = describeOutcome(outcome);
    const sentinels = outcome.acknowledged.filter((a) => a.sentinel);
    expect(sentinels.length).toBeGreaterThanOrEqual(SENTINELS);
    expect({ summary, lostSentinels: outcome.lost.filter((a) => a.sentinel).length }).toEqual({
      summary,
      lostSentinels: sentinels.length,
    });
    expect(outcome.changed).toEqual([]);
  });

  test('journalSyncData=true, killed inside a checkpoint, with zero-fill and rolls: nothing acknowledged is lost', async () => {
    for (const seed of [3, 4]) {
      const outcome = await powerCutRun(dirs, BUSY, true, seed);
      // The kill landed in a checkpoint: an entry log lost bytes, and no index entry pointed at them.
      expect(outcome.files.some((f) => ENTRY_LOG_PATH.test(f.path) && f.lostRanges.length > 0)).toBe(true);
      expect(outcome.files.filter((f) => f.path.endsWith('.txn')).length).toBeGreaterThanOrEqual(2);
      expectNothingLost(outcome);
    }
  });
});
