/**
 * Goal: an add that finds both write caches full waits for the flush to free one, up to
 * dbStorage_maxThrottleTimeMs, as BookKeeper's DbLedgerStorage makes it wait, instead of being refused at once;
 * past that time it is refused with ETOOMANYREQUESTS. Either way a ledger's acknowledgements come in entry order
 * and every acknowledged entry survives a crash: after SIGKILL and a restart it reads back byte-identical.
 *
 * Method: the real `ledgerline bookie` on a real etcd, with 1 MiB of write cache (two caches of 512 KiB), run
 * under strace, which delays every fdatasync of the entry logs (`-P` on their paths; the journal and RocksDB
 * are not slowed) by FLUSH_DELAY_MS, so each flush takes at least that long. A client pipelines ADDS 1 KiB adds
 * over LEDGERS ledgers at once, about six caches' worth, so most adds find both caches full. The bookie's
 * /metrics say how many adds waited and how many were refused. Then SIGKILL (no final checkpoint: the restart
 * replays the journal), a restart without strace, and every acknowledged entry is read back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryLogFileName } from '../../../bookie';
import { StatusCode, masterKey } from '../../../protocol';
import {
  BookieClient,
  EntryPacker,
  MetadataCluster,
  TempDirs,
  eventually,
  requireBuiltBookie,
  startLedgerlineBookie,
} from '../../harness';
import type { BookieProcess } from '../../harness';

const PASSWORD = Buffer.from('write-throttle');
const KEY = masterKey(PASSWORD);
const LEDGERS = 10;
const ADDS = 3000;
const PAYLOAD_BYTES = 1024;
const FLUSH_DELAY_MS = 300;
/** Entry log ids a fresh bookie can reach in this test (a log rolls at 1 GiB by default: one is enough). */
const ENTRY_LOG_IDS = 4;

const packer = new EntryPacker(PASSWORD);

function body(ledgerId: bigint, entryId: bigint): Buffer {
  return packer.pack(ledgerId, entryId, Buffer.alloc(PAYLOAD_BYTES, Number(entryId % 251n)));
}

interface Answer {
  ledgerId: bigint;
  entryId: bigint;
  status: StatusCode;
  latencyMs: number;
}

/** A metric's value from a Prometheus text page (a counter or gauge without labels). */
function metricValue(page: string, name: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no metric ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

/**
 * strace prints a delayed fdatasync in two parts: the call when it starts, the result and "(DELAYED)" when the
 * delay ends. When the adds finish inside the first delayed flush (all refused quickly), only the first part is
 * in the log yet, so wait for the second.
 */
async function expectDelayedFlush(straceLog: string): Promise<void> {
  await eventually(
    'a delayed entry-log fdatasync in the strace log',
    () => (/fdatasync\(\d+\).*\(DELAYED\)/.test(readFileSync(straceLog, 'utf8')) ? true : undefined),
    FLUSH_DELAY_MS * 20,
  );
}

describe('bookie > write throttle > full write caches (whole bookie, slow flush under strace)', () => {
  const dirs = new TempDirs();
  const running: BookieProcess[] = [];
  let cluster: MetadataCluster | undefined;

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await MetadataCluster.start();
  });

  afterEach(async () => {
    for (const bookie of running.splice(0)) await bookie.stop('SIGKILL');
  });

  afterAll(async () => {
    await cluster?.close();
    dirs.removeAll();
  });

  async function start(confPath: string, port: number, wrapper?: string[]): Promise<BookieProcess> {
    const bookie = await startLedgerlineBookie(confPath, port, wrapper === undefined ? {} : { wrapper });
    running.push(bookie);
    return bookie;
  }

  /** A fresh bookie with 1 MiB of write cache whose entry-log fdatasyncs take FLUSH_DELAY_MS longer. */
  async function bookieWithSlowFlush(extra: Record<string, string | number | boolean>) {
    const base = dirs.make('bookie-throttle-');
    const conf = await cluster!.writeBookieConf(base, {
      dbStorage_writeCacheMaxSizeMb: 1,
      // Flushes come from full caches only, not from the periodic checkpoint.
      flushInterval: 600000,
      ...extra,
    });
    const entryLogs = Array.from({ length: ENTRY_LOG_IDS }, (_, id) =>
      join(base, 'ledgers', 'current', entryLogFileName(id)),
    );
    const straceLog = join(base, 'strace.log');
    const bookie = await start(conf.path, conf.port, [
      'strace',
      '-f',
      '-qq',
      '-o',
      straceLog,
      ...entryLogs.flatMap((path) => ['-P', path]),
      '-e',
      'trace=fdatasync',
      '-e',
      `inject=fdatasync:delay_enter=${FLUSH_DELAY_MS * 1000}`,
    ]);
    return { bookie, conf, straceLog };
  }

  /** ADDS adds over LEDGERS ledgers (round robin, entry ids in order), all sent at once; every answer. */
  async function pipelineAdds(port: number): Promise<Answer[]> {
    const client = await BookieClient.connect(port);
    const answers: Answer[] = [];
    await new Promise<void>((resolve, reject) => {
      for (let i = 0; i < ADDS; i++) {
        const ledgerId = BigInt(1 + (i % LEDGERS));
        const entryId = BigInt(Math.floor(i / LEDGERS));
        const sentAt = performance.now();
        client.sendAddEntry(
          { ledgerId, entryId, masterKey: KEY, body: body(ledgerId, entryId) },
          (error, response) => {
            if (error !== undefined) {
              reject(error);
              return;
            }
            answers.push({
              ledgerId,
              entryId,
              status: response!.status,
              latencyMs: performance.now() - sentAt,
            });
            if (answers.length === ADDS) resolve();
          },
        );
      }
    });
    await client.close();
    return answers;
  }

  /** Per ledger, acknowledgements (EOK) arrive in entry order. */
  function expectAcksInEntryOrder(answers: Answer[]): void {
    const last = new Map<bigint, bigint>();
    for (const answer of answers) {
      if (answer.status !== StatusCode.EOK) continue;
      const previous = last.get(answer.ledgerId) ?? -1n;
      expect({ ledgerId: answer.ledgerId, after: previous, entryId: answer.entryId > previous }).toEqual({
        ledgerId: answer.ledgerId,
        after: previous,
        entryId: true,
      });
      last.set(answer.ledgerId, answer.entryId);
    }
  }

  /** SIGKILL, restart without strace, and read back every acknowledged entry. */
  async function expectAckedAfterCrash(
    bookie: BookieProcess,
    conf: { path: string; port: number },
    acked: Answer[],
  ): Promise<void> {
    await bookie.stop('SIGKILL');
    await start(conf.path, conf.port);
    const client = await BookieClient.connect(conf.port);
    const reads = await Promise.all(acked.map((a) => client.readEntry(a.ledgerId, a.entryId)));
    const wrong = acked.filter(
      (a, i) =>
        reads[i]!.status !== StatusCode.EOK ||
        !reads[i]!.readResponse?.body?.equals(body(a.ledgerId, a.entryId)),
    );
    expect(wrong.map((a) => `${a.ledgerId}/${a.entryId}`)).toEqual([]);
    await client.close();
  }

  test('adds that find both caches full wait for the slow flush and are all acknowledged, in order, and survive a crash', async () => {
    const { bookie, conf, straceLog } = await bookieWithSlowFlush({});
    const answers = await pipelineAdds(conf.port);
    await expectDelayedFlush(straceLog);

    const statuses = new Set(answers.map((a) => StatusCode[a.status]));
    expect([...statuses]).toEqual(['EOK']);
    expectAcksInEntryOrder(answers);
    // Some adds waited for at least one whole (slowed) flush.
    expect(Math.max(...answers.map((a) => a.latencyMs))).toBeGreaterThanOrEqual(FLUSH_DELAY_MS);
    const page = await (await fetch(`http://127.0.0.1:${conf.httpPort}/metrics`)).text();
    expect(metricValue(page, 'bookie_dbstorage_throttled_write_requests')).toBeGreaterThan(0);
    expect(metricValue(page, 'bookie_dbstorage_rejected_write_requests')).toBe(0);
    expect(metricValue(page, 'bookie_dbstorage_throttled_write_requests_waiting')).toBe(0);

    await expectAckedAfterCrash(bookie, conf, answers);
  });

  test('with a tiny dbStorage_maxThrottleTimeMs the waiting adds are refused with ETOOMANYREQUESTS; nothing acknowledged is lost', async () => {
    const { bookie, conf, straceLog } = await bookieWithSlowFlush({ dbStorage_maxThrottleTimeMs: 20 });
    const answers = await pipelineAdds(conf.port);
    await expectDelayedFlush(straceLog);

    const acked = answers.filter((a) => a.status === StatusCode.EOK);
    const refused = answers.filter((a) => a.status === StatusCode.ETOOMANYREQUESTS);
    expect(acked.length + refused.length).toBe(ADDS);
    // At least the first cache's worth (~470 adds) was taken; of the rest, arriving while both caches were full,
    // many were refused (how many depends on how many slowed flushes ended while the burst was still arriving).
    expect(acked.length).toBeGreaterThan(400);
    expect(refused.length).toBeGreaterThan(ADDS / 5);
    expectAcksInEntryOrder(answers);
    const page = await (await fetch(`http://127.0.0.1:${conf.httpPort}/metrics`)).text();
    expect(metricValue(page, 'bookie_dbstorage_rejected_write_requests')).toBe(refused.length);
    expect(metricValue(page, 'bookie_dbstorage_throttled_write_requests')).toBeGreaterThanOrEqual(
      refused.length,
    );

    await expectAckedAfterCrash(bookie, conf, acked);
  });
});
