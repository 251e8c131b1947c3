/**
 * Goal: the power-cut model that fault-power-cut.test.ts relies on (test/harness/power-cut.ts) decides what is
 * durable the way the kernel does, so that a pass there means something.
 * Method: hand-written strace logs in the exact format strace 6 writes with -f -y (interleaved threads,
 * unfinished and resumed calls, injected failures, a process killed mid-call), and real files cut by it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TempDirs, cutPower, durabilityFromStrace } from '../../harness';

const J = '/d/journal/current/1.txn';
const L = '/d/ledgers/current/0.log';
const all = (): boolean => true;

function model(log: string[]) {
  return durabilityFromStrace(log.join('\n') + '\n', (path) => path === J || path === L);
}

describe('bookie > faults > power-cut model', () => {
  const dirs = new TempDirs();
  afterAll(() => dirs.removeAll());

  test('a write is durable only if a successful sync of its file started after it completed', () => {
    const [journal] = model([
      `10 pwrite64(18<${J}>, ""..., 100, 0) = 100`,
      `12 fdatasync(17<${J}> <unfinished ...>`, // another thread, another descriptor of the same file
      `10 pwrite64(18<${J}>, ""..., 50, 100) = 50`, // completed while that sync ran: not covered
      `12 <... fdatasync resumed>) = 0`,
      `10 pwrite64(18<${J}>, ""..., 50, 150 <unfinished ...>`,
      `11 fdatasync(18<${J}>) = -1 EIO (Input/output error) (INJECTED)`,
      `10 <... pwrite64 resumed>) = 50`,
      `10 pwrite64(18<${J}>, ""..., 4096, 200 <unfinished ...>`,
      `10 +++ killed by SIGKILL +++`,
    ]);
    expect(journal).toMatchObject({
      path: J,
      durableBytes: 100,
      lostRanges: [{ start: 100, end: 4296 }],
      writes: 4,
      syncs: 1,
    });
  });

  test('pwritev counts like pwrite64; untracked files are ignored, even their ftruncate', () => {
    const [log] = model([
      `10 ftruncate(21</d/ledgers/current/ledgers/MANIFEST-000001>, 13) = 0`,
      `10 pwritev(32<${L}>, [{iov_base=""..., iov_len=1000}, {iov_base=""..., iov_len=24}], 2, 0) = 1024`,
      `13 fsync(32<${L}>) = 0`,
      `10 pwrite64(32<${L}>, ""..., 300, 1024) = 300`,
    ]);
    expect(log).toMatchObject({ durableBytes: 1024, lostRanges: [{ start: 1024, end: 1324 }] });
  });

  test('refuses calls it cannot place', () => {
    expect(() => model([`10 write(32<${L}>, ""..., 10) = 10`])).toThrow(/no offset/);
    expect(() => model([`10 ftruncate(32<${L}>, 0) = 0`])).toThrow(/changes its size/);
    expect(() => durabilityFromStrace(`10 fallocate(3</x>, 0, 0, 10) = 0\n`, all)).toThrow(
      /changes its size/,
    );
  });

  test('a cut zeroes lost bytes inside the durable extent, keeps a torn prefix, and drops the rest', () => {
    const path = join(dirs.make('power-cut-model-'), 'file');
    writeFileSync(path, Buffer.alloc(1000, 0xaa));
    const changed = cutPower(
      { path, durableBytes: 600, lostRanges: [{ start: 400, end: 800 }], writes: 2, syncs: 1 },
      { tornBytes: 50 },
    );
    const after = readFileSync(path);
    expect(after.length).toBe(600);
    expect(after.subarray(0, 450).every((b) => b === 0xaa)).toBe(true);
    expect(after.subarray(450).every((b) => b === 0)).toBe(true);
    expect(changed).toBe(400 + 150);
  });

  test('an append-only file refuses a lost overwrite of its durable bytes', () => {
    const path = join(dirs.make('power-cut-model-'), 'file');
    writeFileSync(path, Buffer.alloc(100, 1));
    const file = { path, durableBytes: 100, lostRanges: [{ start: 0, end: 10 }], writes: 2, syncs: 1 };
    expect(() => cutPower(file, { appendOnly: true })).toThrow(/overwrites durable bytes/);
    expect(readFileSync(path).equals(Buffer.alloc(100, 1))).toBe(true);
  });
});
