/*
 * bench/bookie-server: a whole bookie over TCP, as a client sees it.
 *
 *   npm run build && node dist/bench/bookie-server.js [--seconds 3] [--dir /path/on/the/disk] [--profile DIR]
 *
 * The bookie runs in its own process (test/fixtures/bookie-process.js: real Journal, DbLedgerStorage and
 * BookieServer); this process is the client (test/harness BookieClient, one connection, requests pipelined).
 * Each phase warms up for a second, then measures for `seconds`; one JSON line per phase:
 *   bookie_add      1 KiB adds with 1000 and with 100 in flight over 10 ledgers, and 64 KiB adds with 64 in
 *                   flight: adds/s, MB/s, latency p50/p99 (journal fdatasync before every acknowledgement)
 *   bookie_read     1 KiB entries written just before, read back with 256 in flight: reads/s
 * Client and bookie share the machine's two cores, so the figures are the pair's, not the bookie's alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestManager, DigestType, StatusCode, masterKey } from '../protocol';
import { BookieClient } from '../test/harness';
import { argValue, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '3'));
const baseDir = mkdtempSync(join(argValue('dir', tmpdir()), 'bench-bookie-'));
const FIXTURE = join(__dirname, '..', '..', 'test', 'fixtures', 'bookie-process.js');
const PASSWORD = Buffer.from('bench');
const KEY = masterKey(PASSWORD);
const LEDGERS = 10;
/** `--profile DIR`: the bookie process writes a V8 CPU profile there (node --cpu-prof). */
const profileDir = argValue('profile', '');

async function startBookie(): Promise<{ port: number; stop: () => Promise<void> }> {
  const nodeArgs = profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...nodeArgs, FIXTURE, baseDir, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(() => reject(new Error('the bookie process exited')));
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

interface Window {
  ops: number;
  bytes: number;
  latenciesMs: number[];
  elapsedS: number;
}

/** Keeps `inFlight` operations going for `durationS` seconds; `op(i)` starts the i-th and resolves its bytes. */
async function windowed(
  inFlight: number,
  durationS: number,
  op: (i: number) => Promise<number>,
): Promise<Window> {
  const deadline = performance.now() + durationS * 1000;
  const started = performance.now();
  const result: Window = { ops: 0, bytes: 0, latenciesMs: [], elapsedS: 0 };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const bytes = await op(next++);
      result.bytes += bytes;
      result.latenciesMs.push(performance.now() - t);
      result.ops++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  result.elapsedS = (performance.now() - started) / 1000;
  return result;
}

async function main(): Promise<void> {
  const bookie = await startBookie();
  const client = await BookieClient.connect(bookie.port);
  const digests = Array.from({ length: LEDGERS }, (_, i) =>
    DigestManager.create(BigInt(i + 1), PASSWORD, DigestType.CRC32C),
  );
  const nextEntry = new Array<bigint>(LEDGERS).fill(0n);
  const written: { ledgerId: bigint; entryId: bigint }[] = [];

  const add =
    (payload: Buffer, remember: boolean) =>
    async (i: number): Promise<number> => {
      const ledger = i % LEDGERS;
      const ledgerId = BigInt(ledger + 1);
      const entryId = nextEntry[ledger]!;
      nextEntry[ledger] = entryId + 1n;
      const body = digests[ledger]!.packEntry(entryId, entryId - 1n, 0n, payload);
      const response = await client.addEntry({ ledgerId, entryId, masterKey: KEY, body });
      if (response.status !== StatusCode.EOK) throw new Error(`add failed: ${StatusCode[response.status]}`);
      if (remember && written.length < 1_000_000) written.push({ ledgerId, entryId });
      return payload.length;
    };

  const phases: { name: string; inFlight: number; payloadBytes: number }[] = [
    { name: 'bookie_add', inFlight: 1000, payloadBytes: 1024 },
    { name: 'bookie_add', inFlight: 100, payloadBytes: 1024 },
    { name: 'bookie_add', inFlight: 64, payloadBytes: 64 * 1024 },
  ];
  for (const phase of phases) {
    const payload = Buffer.alloc(phase.payloadBytes, 7);
    await windowed(phase.inFlight, 1, add(payload, false)); // warm-up
    const w = await windowed(phase.inFlight, seconds, add(payload, phase.payloadBytes === 1024));
    const sorted = w.latenciesMs.sort((a, b) => a - b);
    printResult({
      bench: phase.name,
      entryBytes: phase.payloadBytes,
      inFlight: phase.inFlight,
      addsPerSecond: round(w.ops / w.elapsedS),
      mbPerSecond: round(w.bytes / w.elapsedS / 1024 / 1024, 1),
      latencyP50Ms: round(percentile(sorted, 0.5), 2),
      latencyP99Ms: round(percentile(sorted, 0.99), 2),
    });
  }

  const read = async (i: number): Promise<number> => {
    const { ledgerId, entryId } = written[i % written.length]!;
    const response = await client.readEntry(ledgerId, entryId);
    if (response.status !== StatusCode.EOK) throw new Error(`read failed: ${StatusCode[response.status]}`);
    return response.readResponse?.body?.length ?? 0;
  };
  await windowed(256, 1, read);
  const r = await windowed(256, seconds, read);
  const sortedReads = r.latenciesMs.sort((a, b) => a - b);
  printResult({
    bench: 'bookie_read',
    entryBytes: 1024,
    inFlight: 256,
    readsPerSecond: round(r.ops / r.elapsedS),
    latencyP50Ms: round(percentile(sortedReads, 0.5), 2),
    latencyP99Ms: round(percentile(sortedReads, 0.99), 2),
  });

  await client.close();
  await bookie.stop();
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(baseDir, { recursive: true, force: true }));
