import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGERLINE_NODE_FLAGS } from '../../cli';
import { eventually } from './ledger-fixtures';

/**
 * Bookies in their own processes, for fault tests: the bare bookie of test/fixtures/bookie-process.js (real
 * journal and storage, no metadata) and the whole `ledgerline bookie` command. Either may run under a wrapper
 * command such as strace; `pid` is then the bookie's own process (the one to SIGKILL), not the wrapper's.
 */

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'bookie-process.js');
/** The `ledgerline` command: bin/ of the repository, also when this file runs compiled from dist/ (benchmarks). */
const BIN =
  [join(ROOT, 'bin', 'ledgerline.js'), join(ROOT, '..', 'bin', 'ledgerline.js')].find((path) =>
    existsSync(path),
  ) ?? join(ROOT, 'bin', 'ledgerline.js');
const READY_TIMEOUT_MS = 30000;

export interface BookieProcess {
  /** The bookie's process id (under a wrapper: the wrapper's child). */
  readonly pid: number;
  /** The v3 protocol port. */
  readonly port: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal) once the process, and its wrapper, ended. */
  readonly exited: Promise<number | null>;
  readonly running: () => boolean;
  /** Signals the bookie itself and waits until it (and the wrapper) ended; the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** A command that runs the bookie (e.g. ['strace', '-f', ...]); the node command line is appended to it. */
  wrapper?: string[];
  env?: Record<string, string>;
}

/** The compiled code the processes run; tests call it first for a clear message. */
export function requireBuiltBookie(): void {
  if (
    !existsSync(join(ROOT, 'dist', 'bookie', 'index.js')) ||
    !existsSync(join(ROOT, 'dist', 'cli', 'main.js'))
  ) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
}

/** test/fixtures/bookie-process.js on `dataDir` with bookie.conf `settings` (key=value), on a free port. */
export async function startBareBookie(
  dataDir: string,
  settings: string[],
  options: StartOptions = {},
): Promise<BookieProcess> {
  const started = launch([FIXTURE, dataDir, '0', ...settings], options);
  const ready = await untilReady(started, 'the bookie process to print its ready line', () => {
    const line = started
      .stdout()
      .split('\n')
      .find((l) => l.startsWith('{'));
    return line === undefined ? undefined : (JSON.parse(line) as { port: number; pid: number });
  });
  return started.withIds(ready.pid, ready.port);
}

/**
 * `ledgerline bookie --conf <confPath>`, with the V8 flags the command's shebang gives node; resolves once it
 * printed its ready line.
 */
export async function startLedgerlineBookie(
  confPath: string,
  port: number,
  options: StartOptions = {},
): Promise<BookieProcess> {
  const started = launch([...LEDGERLINE_NODE_FLAGS, BIN, 'bookie', '--conf', confPath], options);
  await untilReady(started, 'the bookie to print its ready line', () =>
    started.stdout().includes(' ready: ') ? true : undefined,
  );
  const pid = options.wrapper === undefined ? started.child.pid! : onlyChildOf(started.child.pid!);
  return started.withIds(pid, port);
}

/** Writes a bookie.conf (key=value lines) at `path`. */
export function writeBookieConf(path: string, values: Record<string, string | number | boolean>): void {
  writeFileSync(
    path,
    Object.entries(values)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  );
}

interface Launched {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  withIds: (pid: number, port: number) => BookieProcess;
}

function launch(nodeArgs: string[], options: StartOptions): Launched {
  const [command, ...args] = [...(options.wrapper ?? []), process.execPath, ...nodeArgs];
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    withIds: (pid, port) => ({
      pid,
      port,
      stdout: () => stdout,
      stderr: () => stderr,
      exited,
      running: () => child.exitCode === null && child.signalCode === null,
      stop: async (signal) => {
        if (child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(pid, signal);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
          }
        }
        return exited;
      },
    }),
  };
}

/**
 * Waits for `ready` (a value once the process is up); fails if the process exits first. A process that is not
 * ready in time is SIGKILLed (and waited for) before the failure is reported with its output: otherwise it would
 * live on unseen, still writing into dirs the caller is about to remove.
 */
async function untilReady<T>(started: Launched, what: string, ready: () => T | undefined): Promise<T> {
  try {
    return await eventually(
      what,
      () => {
        if (started.child.exitCode !== null) throw exitedEarly(started);
        return ready();
      },
      READY_TIMEOUT_MS,
    );
  } catch (error) {
    if (started.child.exitCode === null && started.child.signalCode === null) {
      const exited = new Promise((resolve) => started.child.once('exit', resolve));
      started.child.kill('SIGKILL');
      await exited;
      throw new Error(
        `${(error as Error).message}; killed it. stdout:\n${started.stdout()}\nstderr:\n${started.stderr()}`,
        { cause: error },
      );
    }
    throw error;
  }
}

function exitedEarly(started: Launched): Error {
  return new Error(`bookie exited with ${started.child.exitCode} before it was ready:\n${started.stderr()}`);
}

/** The one child of a wrapper process (strace runs exactly one command). */
function onlyChildOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1 || children[0] === '') {
    throw new Error(`expected one child of process ${pid}, found [${children.join(', ')}]`);
  }
  return Number(children[0]);
}
