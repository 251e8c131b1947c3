/**
 * Goal: a zombie writer (reliability.md §2 S6) can never again have an add acknowledged once its ledger was
 * recovered and closed elsewhere: a writer process, frozen mid-stream while another process recovers and
 * closes its ledger, resumes to find every append failing with LedgerFencedException, no acknowledgement for
 * an entry past the closed end, and the closed end never moves, not even when the zombie closes its handle.
 * Method: three real bookies on etcd (BookieCluster). The writer is a child process
 * (test/fixtures/ledger-writer-process.js, our compiled client from dist/) appending continuously with 20 in
 * flight and printing a JSON line per acknowledged or failed entry. The test SIGSTOPs it mid-stream, recovers
 * and closes the ledger with its own client, SIGCONTs it, and reads the child's lines until it exits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BookKeeper } from '../../ledger-client';
import { BookieCluster, eventually, requireBuiltBookie } from '../harness';

const PASSWORD = 'zombie-test';
const FIXTURE = join(__dirname, '..', 'fixtures', 'ledger-writer-process.js');

interface WriterLine {
  ledgerId?: string;
  acked?: string;
  failed?: string;
  code?: string;
  /** How the writer's own close() of its handle ended: 'ok' or the error code. */
  close?: string;
}

/** The child's state letter from /proc (T when stopped). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('ledger-client > zombie writer (S6)', () => {
  let cluster: BookieCluster;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 3 });
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await cluster?.close();
  });

  test('a writer process frozen while its ledger is recovered and closed gets no acknowledgement past the end when it resumes', async () => {
    const writer = spawn(process.execPath, [FIXTURE, cluster.metadataServiceUri, PASSWORD], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = writer;
    const lines: WriterLine[] = [];
    let stderr = '';
    writer.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: writer.stdout! }).on('line', (line) =>
      lines.push(JSON.parse(line) as WriterLine),
    );
    const exited = new Promise<number | null>((resolve) => writer.on('exit', (code) => resolve(code)));
    const acked = () => lines.filter((l) => l.acked !== undefined).map((l) => BigInt(l.acked!));

    await eventually(`the writer to have 300 entries acknowledged (stderr: ${stderr})`, () =>
      acked().length >= 300 ? true : undefined,
    );
    const ledgerId = BigInt(lines[0]!.ledgerId!);
    writer.kill('SIGSTOP');
    await eventually('the writer to be stopped', () =>
      processState(writer.pid!) === 'T' ? true : undefined,
    );

    const recoverer = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri });
    try {
      const read = await recoverer.openLedger({ ledgerId, password: PASSWORD, recovery: true });
      const lastEntryId = read.getLastAddConfirmed();
      const closed = await recoverer.getLedgerMetadata(ledgerId);
      expect([closed.state, closed.lastEntryId]).toEqual(['CLOSED', lastEntryId]);
      // Everything acknowledged before the freeze is in the closed ledger.
      expect(acked().every((id) => id <= lastEntryId)).toBe(true);

      writer.kill('SIGCONT');
      const code = await Promise.race([
        exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000).unref()),
      ]);
      expect([code, stderr]).toEqual([0, '']);

      // Acknowledgements came in entry order, none past the closed end; every failure is the fence.
      const ids = acked();
      expect(ids).toEqual(ids.map((_, i) => BigInt(i)));
      expect(ids[ids.length - 1]! <= lastEntryId).toBe(true);
      const failures = lines.filter((l) => l.failed !== undefined);
      expect(failures.length).toBeGreaterThan(0);
      expect(new Set(failures.map((l) => l.code))).toEqual(new Set(['LedgerFencedException']));
      expect(failures.every((l) => BigInt(l.failed!) > ids[ids.length - 1]!)).toBe(true);

      // The writer's own close() after its failures ran: harmless when its end agrees with the recoverer's, else
      // refused; either way it changed nothing (below).
      const closes = lines.filter((l) => l.close !== undefined).map((l) => l.close);
      expect(closes).toHaveLength(1);
      expect(['ok', 'MetadataVersionException']).toContain(closes[0]);
      // The closed end never moved, and the ledger holds exactly the writer's entries up to it.
      const after = await recoverer.getLedgerMetadata(ledgerId);
      expect([after.state, after.lastEntryId, after.length]).toEqual([
        'CLOSED',
        closed.lastEntryId,
        closed.length,
      ]);
      const entries = await read.read(0n, lastEntryId);
      expect(entries.map((e) => e.data.toString())).toEqual(
        Array.from({ length: Number(lastEntryId) + 1 }, (_, i) => `entry ${i}`),
      );
    } finally {
      await recoverer.close();
    }
  });
});
