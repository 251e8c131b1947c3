/*
 * The Kafka benchmarks' server: `ledgerline standalone` (the built bin/ledgerline.js, one bookie, fsync before
 * ack, with npm start's node flags) in a child process on a fresh data dir, free HTTP and Kafka ports, loopback only —
 * or, with `--bootstrap host:port`, a broker someone started. `--profile DIR` makes the standalone write a V8 CPU
 * profile there (on SIGTERM).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LEDGERLINE_NODE_FLAGS } from '../cli';
import { argValue, processCpuSeconds } from './measure';

const BIN = join(__dirname, '..', '..', 'bin', 'ledgerline.js');
const READY_MS = 60_000;

export interface KafkaTarget {
  /** host:port of the Kafka listener. */
  bootstrap: string;
  /** The directory the disk figure is measured in (the standalone's data dir, or `--dir`). */
  dir: string;
  /** CPU seconds the standalone used so far (NaN for a broker this process did not start). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function startKafkaTarget(): Promise<KafkaTarget> {
  const given = argValue('bootstrap', '');
  const baseDir = mkdtempSync(join(argValue('dir', tmpdir()), 'bench-kafka-'));
  if (given !== '') {
    return {
      bootstrap: given,
      dir: baseDir,
      cpuSeconds: () => Number.NaN,
      stop: async () => rmSync(baseDir, { recursive: true, force: true }),
    };
  }
  const profileDir = argValue('profile', '');
  // With the V8 flags `npm start` runs it with.
  const nodeArgs = [...LEDGERLINE_NODE_FLAGS];
  if (profileDir !== '') nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [
      ...nodeArgs,
      BIN,
      'standalone',
      '--data-dir',
      join(baseDir, 'data'),
      '--port',
      '0',
      '--bookie-port',
      '0',
      '--kafka-port',
      '0',
      '--bind-address',
      '127.0.0.1',
    ],
    { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.pipe(process.stderr);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => reject(new Error(`standalone not ready in ${READY_MS} ms:\n${stdout}`)),
      READY_MS,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /kafka: 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`standalone exited (${code}) before it was ready:\n${stdout}`));
    });
  });
  child.stdout.resume();
  return {
    bootstrap: `127.0.0.1:${port}`,
    dir: baseDir,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      process.off('exit', killOnExit);
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
