/*
 * A bookie in a child process for the bookie benchmarks (test/fixtures/bookie-process.js: the real Journal,
 * DbLedgerStorage and BookieServer, compiled), so that the benchmark process is a separate client, as the
 * issue asks. `--profile DIR` on a benchmark's command line makes the bookie write a V8 CPU profile there.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { LEDGERLINE_NODE_FLAGS } from '../cli';
import { processCpuSeconds } from './measure';

const FIXTURE = join(__dirname, '..', '..', 'test', 'fixtures', 'bookie-process.js');

export interface BookieChildOptions {
  dataDir: string;
  /** bookie.conf keys, e.g. `{ flushInterval: '3600000' }`. */
  settings?: Record<string, string>;
  /** A directory for `node --cpu-prof` output; empty or absent for none. */
  profileDir?: string;
  /** Another server script taking the same arguments (the yardstick: yardstick-child.js). */
  script?: string;
}

export class BookieChild {
  private constructor(
    private readonly child: ChildProcessByStdio<null, Readable, Readable>,
    private readonly exited: Promise<void>,
    readonly port: number,
    /** From spawn to the "ready" line: process start, journal replay, checkpoint, listening. */
    readonly readyMs: number,
  ) {}

  static async start(options: BookieChildOptions): Promise<BookieChild> {
    const profileDir = options.profileDir ?? '';
    // The V8 flags the ledgerline command runs with (bin/ledgerline.js): the bookie under test as deployed.
    const nodeArgs = [
      ...LEDGERLINE_NODE_FLAGS,
      ...(profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
    ];
    const settings = Object.entries(options.settings ?? {}).map(([key, value]) => `${key}=${value}`);
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [...nodeArgs, options.script ?? FIXTURE, options.dataDir, '0', ...settings],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr.pipe(process.stderr);
    // A benchmark that dies (an error, a closed stdout) must not leave its bookie running.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        process.off('exit', killOnExit);
        resolve();
      }),
    );
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
      });
      void exited.then(() => reject(new Error('the bookie process exited before it was ready')));
    });
    return new BookieChild(child, exited, port, performance.now() - started);
  }

  /** CPU seconds (user + system, all threads) the bookie process has used so far. */
  cpuSeconds(): number {
    return processCpuSeconds(this.child.pid!);
  }

  /** SIGTERM: the bookie drains, checkpoints (storage flushed, lastMark written) and exits. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }

  /** SIGKILL: a crash; the next start replays the journal from the last checkpoint. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
