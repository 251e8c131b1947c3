/**
 * Goal: a bookie killed at any moment loses nothing it acknowledged. After every restart each acknowledged
 * entry reads back byte-identical, every fence it acknowledged still holds, and the LAC a reader saw never
 * goes backwards.
 * Method: the bookie runs in a child process (test/fixtures/bookie-process.js, compiled code in dist/) on the
 * real Journal and DbLedgerStorage, with frequent checkpoints and a small write cache so kills land in every
 * phase (group commit, flush, lastMark write, replay). A client keeps hundreds of adds in flight over many
 * ledgers, fences some ledgers and writes explicit LACs; the child is SIGKILLed at a random moment, 20 times
 * under load and 4 times while it is starting (replaying). The model of what was acknowledged is the test's.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StatusCode, masterKey } from '../../../protocol';
import { BookieClient, EntryPacker, TempDirs, seededRandom } from '../../harness';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'bookie-process.js');
const LOAD_KILLS = 20;
const STARTUP_KILLS = 4;
const LEDGERS = 16;
const IN_FLIGHT = 100;
const PASSWORD = Buffer.from('crash');
const KEY = masterKey(PASSWORD);
const SETTINGS = [
  'flushInterval=150',
  'dbStorage_writeCacheMaxSizeMb=4',
  'journalPreAllocSizeMB=1',
  'journalMaxSizeMB=2',
  'maxBackupJournals=1',
];

const packer = new EntryPacker(PASSWORD);

/** The one body entry (ledgerId, entryId) ever has, so re-adding an unacknowledged entry adds the same bytes. */
function body(ledgerId: bigint, entryId: bigint): Buffer {
  const size = 64 + Number((ledgerId * 7919n + entryId * 104729n) % 1500n);
  const payload = Buffer.alloc(size, Number((ledgerId + entryId) % 256n));
  payload.writeBigInt64BE(entryId, 0);
  return packer.pack(ledgerId, entryId, payload);
}

/** What the bookie acknowledged, which must survive every crash. */
class Acknowledged {
  readonly entries = new Map<bigint, Set<bigint>>();
  readonly fenced = new Set<bigint>();
  readonly lacSeen = new Map<bigint, bigint>();
  readonly nextEntryId = new Map<bigint, bigint>();

  ack(ledgerId: bigint, entryId: bigint): void {
    let set = this.entries.get(ledgerId);
    if (set === undefined) this.entries.set(ledgerId, (set = new Set()));
    set.add(entryId);
  }

  sawLac(ledgerId: bigint, lac: bigint | undefined): void {
    if (lac !== undefined && lac > (this.lacSeen.get(ledgerId) ?? -1n)) this.lacSeen.set(ledgerId, lac);
  }

  get count(): number {
    let count = 0;
    for (const set of this.entries.values()) count += set.size;
    return count;
  }
}

interface Child {
  process: ChildProcess;
  ready: Promise<number>;
  exited: Promise<void>;
  stderr: () => string;
}

function startChild(dataDir: string): Child {
  const child = spawn(process.execPath, [FIXTURE, dataDir, '0', ...SETTINGS], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(() => reject(new Error(`bookie process exited before it was ready:\n${stderr}`)));
  });
  ready.catch(() => undefined);
  return { process: child, ready, exited, stderr: () => stderr };
}

async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

/** Every acknowledged entry, byte-identical; every fence; every LAC at least what was seen. */
async function verify(client: BookieClient, model: Acknowledged): Promise<void> {
  const pending: Promise<void>[] = [];
  const problems: string[] = [];
  for (const [ledgerId, entryIds] of model.entries) {
    for (const entryId of entryIds) {
      pending.push(
        client.readEntry(ledgerId, entryId).then((response) => {
          if (
            response.status !== StatusCode.EOK ||
            !response.readResponse?.body?.equals(body(ledgerId, entryId))
          ) {
            problems.push(`ledger ${ledgerId} entry ${entryId}: ${StatusCode[response.status]}`);
          }
        }),
      );
      if (pending.length >= 64) await Promise.all(pending.splice(0));
    }
  }
  await Promise.all(pending);
  expect(problems).toEqual([]);
  for (const ledgerId of model.fenced) {
    const entryId = model.nextEntryId.get(ledgerId) ?? 0n;
    const add = await client.addEntry({ ledgerId, entryId, masterKey: KEY, body: body(ledgerId, entryId) });
    expect({ ledgerId, status: StatusCode[add.status] }).toEqual({ ledgerId, status: 'EFENCED' });
  }
  for (const [ledgerId, seen] of model.lacSeen) {
    const last = await client.readEntry(ledgerId, -1n);
    expect({ ledgerId, lacAtLeastSeen: (last.readResponse?.maxLAC ?? -1n) >= seen }).toEqual({
      ledgerId,
      lacAtLeastSeen: true,
    });
    model.sawLac(ledgerId, last.readResponse?.maxLAC);
  }
}

/**
 * Pipelined adds over the ledgers, with fences, explicit LACs and LAC reads mixed in, until `stop()` says so
 * (it is asked after every acknowledgement) or the connection drops.
 */
async function load(
  client: BookieClient,
  model: Acknowledged,
  random: () => number,
  stop: () => boolean,
): Promise<void> {
  let stopped = false;
  const writable = (): bigint[] =>
    Array.from({ length: LEDGERS }, (_, i) => BigInt(i + 1)).filter((id) => !model.fenced.has(id));
  const addOne = async (): Promise<void> => {
    const ledgers = writable();
    const ledgerId = ledgers[Math.floor(random() * ledgers.length)]!;
    const entryId = model.nextEntryId.get(ledgerId) ?? 0n;
    model.nextEntryId.set(ledgerId, entryId + 1n);
    const response = await client.addEntry({
      ledgerId,
      entryId,
      masterKey: KEY,
      body: body(ledgerId, entryId),
    });
    if (response.status === StatusCode.EOK) model.ack(ledgerId, entryId);
    stopped ||= stop();
  };
  const sometimes = async (): Promise<void> => {
    const roll = random();
    const ledgers = writable();
    const ledgerId = ledgers[Math.floor(random() * ledgers.length)]!;
    if (roll < 0.01 && ledgers.length > LEDGERS / 2) {
      const fenced = await client.fence(ledgerId, -1n, KEY);
      if (fenced.status === StatusCode.EOK || fenced.status === StatusCode.ENOENTRY)
        model.fenced.add(ledgerId);
    } else if (roll < 0.05) {
      const acked = [...(model.entries.get(ledgerId) ?? [])];
      if (acked.length === 0) return;
      const lac = acked.reduce((a, b) => (a > b ? a : b));
      const written = await client.writeLac(ledgerId, lac, KEY, packer.digest(ledgerId).packLac(lac));
      if (written.status === StatusCode.EOK) model.sawLac(ledgerId, lac);
    } else if (roll < 0.1) {
      const read = await client.readEntry(ledgerId, -1n);
      model.sawLac(ledgerId, read.readResponse?.maxLAC);
    }
  };
  const lane = async (): Promise<void> => {
    while (!stopped && client.open) {
      try {
        await addOne();
        await sometimes();
      } catch {
        return; // the connection went down with the bookie
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

describe('bookie > crash > SIGKILL under load', () => {
  const dirs = new TempDirs();

  afterAll(() => dirs.removeAll());

  it(`keeps every acknowledged entry, fence and LAC through ${LOAD_KILLS + STARTUP_KILLS} kills`, async () => {
    if (!existsSync(join(ROOT, 'dist', 'bookie', 'index.js'))) throw new Error('run `npm run build` first');
    const seed = Date.now() % 1_000_000;
    const random = seededRandom(seed);
    const dataDir = dirs.make('bookie-crash-');
    const model = new Acknowledged();
    let loadKills = 0;
    let startupKills = 0;
    while (loadKills < LOAD_KILLS) {
      const child = startChild(dataDir);
      try {
        if (startupKills < STARTUP_KILLS && random() < 0.2) {
          // Killed while opening or replaying the journal.
          await new Promise((resolve) => setTimeout(resolve, random() * 200));
          await kill(child);
          startupKills++;
          continue;
        }
        const client = await BookieClient.connect(await child.ready);
        await verify(client, model);
        // Killed after a random number of acknowledged adds, with IN_FLIGHT more on their way.
        const killAtCount = model.count + 50 + Math.floor(random() * 500);
        let killed: Promise<void> | undefined;
        await load(client, model, random, () => {
          if (killed === undefined && model.count >= killAtCount) killed = kill(child);
          return killed !== undefined;
        });
        await killed;
        await client.closed;
        loadKills++;
      } catch (error) {
        await kill(child);
        throw new Error(
          `seed ${seed}, after ${loadKills} kills: ${(error as Error).message}\n${child.stderr()}`,
        );
      }
    }
    while (startupKills < STARTUP_KILLS) {
      const child = startChild(dataDir);
      await new Promise((resolve) => setTimeout(resolve, random() * 200));
      await kill(child);
      startupKills++;
    }
    const last = startChild(dataDir);
    try {
      const client = await BookieClient.connect(await last.ready);
      await verify(client, model);
      await client.close();
    } finally {
      await kill(last);
    }
    expect(model.count).toBeGreaterThan(20 * 50);
    expect(model.fenced.size).toBeGreaterThan(0);
  }, 180_000);
});
