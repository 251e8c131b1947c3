/*
 * Shared timing for benchmarks: warm up, run a body repeatedly for a fixed time, report the median of several
 * runs. Each benchmark prints one JSON line per result (`printResult`).
 */
import { readFileSync } from 'node:fs';

export interface Runs {
  /** One figure per run, in the unit the benchmark names. */
  runs: number[];
  median: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value at `fraction` (0.99 for p99) of ascending `sorted` samples; 0 when there are none. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/**
 * Calls `batch()` (which does `batchSize` operations) until `seconds` have passed, `runs` times after one
 * warm-up run; returns operations per second for each run.
 */
export function measureSync(
  batch: () => void,
  batchSize: number,
  options: { seconds: number; runs: number },
): Runs {
  const perRun = (): number => {
    const deadline = process.hrtime.bigint() + BigInt(Math.round(options.seconds * 1e9));
    const start = process.hrtime.bigint();
    let ops = 0;
    let now = start;
    while (now < deadline) {
      batch();
      ops += batchSize;
      now = process.hrtime.bigint();
    }
    return ops / (Number(now - start) / 1e9);
  };
  perRun(); // warm-up: JIT and caches
  const runs: number[] = [];
  for (let i = 0; i < options.runs; i++) runs.push(perRun());
  return { runs, median: median(runs) };
}

/** Async variant: `batch()` resolves after `batchSize` operations. */
export async function measureAsync(
  batch: () => Promise<void>,
  batchSize: number,
  options: { seconds: number; runs: number; warmupSeconds?: number },
): Promise<Runs> {
  const perRun = async (seconds: number): Promise<number> => {
    const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
    const start = process.hrtime.bigint();
    let ops = 0;
    let now = start;
    while (now < deadline) {
      await batch();
      ops += batchSize;
      now = process.hrtime.bigint();
    }
    return ops / (Number(now - start) / 1e9);
  };
  await perRun(options.warmupSeconds ?? options.seconds);
  const runs: number[] = [];
  for (let i = 0; i < options.runs; i++) runs.push(await perRun(options.seconds));
  return { runs, median: median(runs) };
}

export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export const round = (value: number, digits = 0): number => Number(value.toFixed(digits));

/** `--name value` from argv, or the default. */
export function argValue(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return value ?? fallback;
}

/** `--bookie key=value,key=value`: bookie.conf settings for the bookie under test (to compare settings). */
export function bookieSettingsArg(): Record<string, string> {
  return Object.fromEntries(
    argValue('bookie', '')
      .split(',')
      .filter((setting) => setting.includes('='))
      .map((setting) => [setting.slice(0, setting.indexOf('=')), setting.slice(setting.indexOf('=') + 1)]),
  );
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat: utime and stime are
 * the 12th and 13th fields after the command's closing parenthesis, in clock ticks (100 per second on Linux).
 */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
