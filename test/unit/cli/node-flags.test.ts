/*
 * The V8 flags of the ledgerline command are written in three places: cli/node-flags.ts (what the benchmarks start
 * servers with), bin/ledgerline.js's shebang and package.json's `npm start`. They must agree, and this Node must
 * take them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGERLINE_NODE_FLAGS } from '../../../cli';

const ROOT = join(__dirname, '..', '..', '..');

describe("cli > the ledgerline command's node flags", () => {
  test("bin/ledgerline.js's shebang runs node with exactly LEDGERLINE_NODE_FLAGS", () => {
    const shebang = readFileSync(join(ROOT, 'bin', 'ledgerline.js'), 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${LEDGERLINE_NODE_FLAGS.join(' ')}`);
  });

  test('npm start runs node with exactly LEDGERLINE_NODE_FLAGS', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    const words = pkg.scripts.start.split(' ');
    expect(words[0]).toBe('node');
    expect(words.slice(1, words.indexOf('bin/ledgerline.js'))).toEqual([...LEDGERLINE_NODE_FLAGS]);
  });

  test("this node accepts the flags, and they raise the young generation's limit", () => {
    const heapLimit = (flags: readonly string[]): number => {
      const probe = spawnSync(
        process.execPath,
        [...flags, '-e', "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit))"],
        { encoding: 'utf8' },
      );
      expect(probe.stderr).toBe('');
      expect(probe.status).toBe(0);
      return Number(probe.stdout);
    };
    // The heap limit counts the young generation's: its semi-spaces may now grow to 32 MB instead of 16.
    expect(heapLimit(LEDGERLINE_NODE_FLAGS) - heapLimit([])).toBeGreaterThanOrEqual(32 * 1024 * 1024);
  });
});
