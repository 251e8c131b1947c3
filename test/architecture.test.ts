/**
 * Guards the module boundaries of ARCHITECTURE.md: a module is imported only through its index.ts, imports
 * follow the allowed directions, and neither modules nor files form cycles. The rules are checked against the
 * real tree and, to show the checker itself bites, against small made-up trees that break each rule.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

/** Which modules each module may import (besides itself). `common` is the shared kernel: errors, config, logging. */
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  protocol: ['common'],
  metadata: ['common'],
  bookie: ['common', 'protocol', 'metadata'],
  'ledger-client': ['common', 'protocol', 'metadata'],
  'managed-ledger': ['common', 'ledger-client', 'metadata'],
  broker: ['common', 'managed-ledger', 'metadata'],
  cli: ['common', 'protocol', 'metadata', 'bookie', 'ledger-client', 'managed-ledger', 'broker'],
  bench: [
    'common',
    'protocol',
    'metadata',
    'bookie',
    'ledger-client',
    'managed-ledger',
    'broker',
    'cli',
    'test',
  ],
  test: ['common', 'protocol', 'metadata', 'bookie', 'ledger-client', 'managed-ledger', 'broker', 'cli'],
};

/** A source file: its path relative to the root (without extension) and the relative imports it makes. */
interface SourceFile {
  path: string;
  imports: string[];
}

function listTypeScript(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) found.push(...listTypeScript(full));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push(full);
  }
  return found;
}

const IMPORT_RE =
  /(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/g;

function readTree(): SourceFile[] {
  const files: SourceFile[] = [];
  for (const module of Object.keys(ALLOWED)) {
    let paths: string[];
    try {
      paths = listTypeScript(join(ROOT, module));
    } catch {
      continue;
    }
    for (const full of paths) {
      const text = readFileSync(full, 'utf8');
      const imports: string[] = [];
      for (const match of text.matchAll(IMPORT_RE)) {
        const spec = match[1] ?? match[2]!;
        if (spec.startsWith('.')) imports.push(spec);
      }
      files.push({ path: relative(ROOT, full).replace(/\.ts$/, ''), imports });
    }
  }
  return files;
}

function moduleOf(path: string): string {
  return path.split('/')[0]!;
}

/** Resolves a relative import to a root-relative path without extension, `dir` imports meaning `dir/index`. */
function resolveImport(from: string, spec: string, known: Set<string>): string {
  const target = join(dirname(from), spec).replace(/\.(js|ts)$/, '');
  if (known.has(target)) return target;
  if (known.has(join(target, 'index'))) return join(target, 'index');
  return target;
}

export function checkArchitecture(files: SourceFile[]): string[] {
  const problems: string[] = [];
  const known = new Set(files.map((f) => f.path));
  const fileEdges = new Map<string, string[]>();
  const moduleEdges = new Map<string, Set<string>>();
  for (const file of files) {
    const from = moduleOf(file.path);
    const targets: string[] = [];
    for (const spec of file.imports) {
      const target = resolveImport(file.path, spec, known);
      const to = moduleOf(target);
      targets.push(target);
      if (to === from) continue;
      if (!(to in ALLOWED)) {
        problems.push(`${file.path} imports ${target}, outside every module`);
        continue;
      }
      if (!ALLOWED[from]!.includes(to)) {
        problems.push(`${file.path} imports ${to} (${from} -> ${to} is not an allowed direction)`);
      }
      // Tests and benchmarks may reach the test harness directly, and a module's own unit tests
      // (test/unit/<module>/) may test its inner files; every other crossing goes through index.ts.
      const throughIndex =
        target === `${to}/index` ||
        (to === 'test' && target.startsWith('test/harness/')) ||
        (from === 'test' && file.path.startsWith(`test/unit/${to}/`));
      if (!throughIndex) {
        problems.push(`${file.path} imports ${target}: cross-module imports must go through ${to}/index.ts`);
      }
      if (!moduleEdges.has(from)) moduleEdges.set(from, new Set());
      moduleEdges.get(from)!.add(to);
    }
    fileEdges.set(file.path, targets);
  }
  for (const cycle of findCycles(new Map([...moduleEdges].map(([k, v]) => [k, [...v]])))) {
    problems.push(`module cycle: ${cycle.join(' -> ')}`);
  }
  for (const cycle of findCycles(fileEdges)) {
    problems.push(`file cycle: ${cycle.join(' -> ')}`);
  }
  return problems;
}

/** Depth-first search for back edges; reports each cycle found once, as the path that closes it. */
function findCycles(edges: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('architecture', () => {
  it('the source tree respects the module boundaries', () => {
    const files = readTree();
    expect(files.length).toBeGreaterThan(10);
    expect(checkArchitecture(files)).toEqual([]);
  });

  describe('the checker', () => {
    it('rejects a forbidden direction (bookie -> ledger-client)', () => {
      const problems = checkArchitecture([
        { path: 'bookie/server', imports: ['../ledger-client'] },
        { path: 'ledger-client/index', imports: [] },
      ]);
      expect(problems).toEqual([
        expect.stringContaining('bookie -> ledger-client is not an allowed direction'),
      ]);
    });

    it('rejects a forbidden direction (broker -> ledger-client)', () => {
      const problems = checkArchitecture([
        { path: 'broker/topic', imports: ['../ledger-client/index'] },
        { path: 'ledger-client/index', imports: [] },
      ]);
      expect(problems).toEqual([expect.stringContaining('broker -> ledger-client')]);
    });

    it('rejects reaching past a module index', () => {
      const problems = checkArchitecture([
        { path: 'bookie/server', imports: ['../protocol/frame-decoder'] },
        { path: 'protocol/frame-decoder', imports: [] },
        { path: 'protocol/index', imports: ['./frame-decoder'] },
      ]);
      expect(problems).toEqual([expect.stringContaining('must go through protocol/index.ts')]);
    });

    it("lets a module's own unit tests reach its inner files, and no other test", () => {
      const problems = checkArchitecture([
        {
          path: 'test/unit/bookie/journal/replay.test',
          imports: ['../../../../bookie/journal/journal-replay'],
        },
        { path: 'test/integration/bookie/server.test', imports: ['../../../bookie/journal/journal-replay'] },
        { path: 'test/unit/protocol/x.test', imports: ['../../../bookie/journal/journal-replay'] },
        { path: 'bookie/journal/journal-replay', imports: [] },
      ]);
      expect(problems).toEqual([
        expect.stringContaining('test/integration/bookie/server.test imports bookie/journal/journal-replay'),
        expect.stringContaining('test/unit/protocol/x.test imports bookie/journal/journal-replay'),
      ]);
    });

    it('rejects module cycles and file cycles', () => {
      const problems = checkArchitecture([
        { path: 'protocol/index', imports: ['../metadata'] },
        { path: 'metadata/index', imports: ['../protocol', './a'] },
        { path: 'metadata/a', imports: ['./b'] },
        { path: 'metadata/b', imports: ['./a'] },
      ]);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('module cycle: protocol -> metadata -> protocol'),
          expect.stringContaining('file cycle: metadata/a -> metadata/b -> metadata/a'),
        ]),
      );
    });

    it('accepts imports through index.ts in an allowed direction', () => {
      expect(
        checkArchitecture([
          { path: 'bookie/server', imports: ['../protocol', '../metadata/index'] },
          { path: 'protocol/index', imports: [] },
          { path: 'metadata/index', imports: [] },
        ]),
      ).toEqual([]);
    });
  });
});
