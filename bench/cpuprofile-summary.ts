/*
 * bench/cpuprofile-summary: self time by function of a V8 CPU profile (`node --cpu-prof`, or a bookie bench's
 * `--profile DIR`), the heaviest first.
 *
 *   node dist/bench/cpuprofile-summary.js <file.cpuprofile> [--top 30]
 *
 * "(idle)" is the event loop waiting in epoll; fdatasync / writeBuffer / writev / read are the synchronous
 * system calls of those names, their time spent in the kernel on the event loop.
 */
import { readFileSync } from 'node:fs';
import { argValue } from './measure';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const path = process.argv[2];
  if (path === undefined || path.startsWith('--')) {
    throw new Error('usage: cpuprofile-summary.js <file.cpuprofile> [--top 30]');
  }
  const top = Number(argValue('top', '30'));
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  let totalMicros = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(id)?.callFrame;
    const url = (frame?.url ?? '').replace(/.*\/(dist|node_modules)\//, '$1/');
    const name = `${frame?.functionName || '(anonymous)'} ${url}:${(frame?.lineNumber ?? 0) + 1}`;
    selfMicros.set(name, (selfMicros.get(name) ?? 0) + delta);
    totalMicros += delta;
  });
  process.stdout.write(`total ${(totalMicros / 1000).toFixed(0)} ms\n`);
  const heaviest = [...selfMicros].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, micros] of heaviest) {
    process.stdout.write(`${((micros / totalMicros) * 100).toFixed(1).padStart(5)}%  ${name}\n`);
  }
}

main();
