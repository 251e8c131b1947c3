/**
 * Goal: `ledgerline shell simpletest`, `readledger` and `ledgermetadata` do for a person and a script what the
 * cli README says, against a real cluster: simpletest writes, reads back and verifies; readledger prints the
 * entries (text or hex, a range); ledgermetadata shows every segment's first entry and ensemble; a missing ledger,
 * a wrong password or too few bookies is one line on stderr and exit code 1.
 * Method: the built command (`node bin/ledgerline.js`, dist/) run as a child process against 3 real
 * `ledgerline bookie` processes on a real etcd (harness BookieCluster); a ledger with two segments is made with
 * the BookKeeper client by killing a bookie of its ensemble mid-write.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BookKeeper } from '../../ledger-client';
import { BookieCluster, requireBuiltBookie } from '../harness';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ledgerline.js');
/** What a `ledgerline shell` run left: its exit code and output. */
type Result = { code: number; stdout: string; stderr: string };

describe('cli > shell ledger commands on 3 real bookies', () => {
  let cluster: BookieCluster;
  let bk: BookKeeper;

  const shell = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const argv = [BIN, 'shell', '--metadata-service-uri', cluster.metadataServiceUri, ...args];
      execFile('node', argv, { cwd: ROOT, timeout: 40000 }, (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        }),
      );
    });

  /** A failed command: exit 1, nothing on stdout, one line on stderr matching `message`. */
  const expectOneLineError = (result: Result, message: RegExp): void => {
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
  };

  beforeAll(async () => {
    requireBuiltBookie();
    cluster = await BookieCluster.start({ bookies: 3 });
    bk = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri });
  });
  afterAll(async () => {
    await bk?.close();
    await cluster?.close();
  });

  let simpleLedgerId: bigint;

  test('simpletest -e 3 -w 2 -a 2 -n 1000 writes, reads back and verifies 1000 entries', async () => {
    const json = await shell('--json', 'simpletest', '-e', '3', '-w', '2', '-a', '2', '-n', '1000');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ensembleSize: 3,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      entries: 1000,
      verified: 1000,
      writesPerSecond: expect.any(Number),
    });
    simpleLedgerId = BigInt(report.ledgerId as string);
    // The ledger is there, closed at entry 999, on three of the bookies.
    const md = await bk.getLedgerMetadata(simpleLedgerId);
    expect(md).toMatchObject({ state: 'CLOSED', lastEntryId: 999n, ensembleSize: 3 });
    expect([...md.ensembles[0]!.ensemble].sort()).toEqual([...cluster.bookieIds].sort());

    const text = await shell('simpletest', '-e', '2', '-w', '2', '-a', '1', '-n', '50');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(
      /^Ledger \d+ \(E=2 Qw=2 Qa=1\): wrote 50 entries in \d+ ms \(\d+ entries\/s\)\nRead back and verified 50 entries in \d+ ms/,
    );
  });

  test('readledger prints a range of entries as text, as hex, and as JSON', async () => {
    const id = simpleLedgerId.toString();
    const range = await shell('readledger', '-l', id, '-fe', '10', '-le', '12');
    expect(range).toMatchObject({ code: 0, stderr: '' });
    expect(range.stdout.trimEnd().split('\n')).toEqual(
      [10, 11, 12].map((i) => {
        const payload = `ledgerline simpletest entry ${i}`;
        return `entry ${i}\tlength ${payload.length}\t"${payload}"`;
      }),
    );

    const hex = await shell('--json', 'readledger', '-l', id, '-fe', '998', '--hex');
    expect(hex.code).toBe(0);
    expect(JSON.parse(hex.stdout)).toEqual({
      ledgerId: id,
      closed: true,
      lastAddConfirmed: '999',
      entries: [998, 999].map((i) => ({
        entryId: String(i),
        length: `ledgerline simpletest entry ${i}`.length,
        hex: Buffer.from(`ledgerline simpletest entry ${i}`).toString('hex'),
      })),
    });

    // The whole ledger by default; binary payloads come out as hex.
    const all = await shell('readledger', '-l', id);
    expect(all.code).toBe(0);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(1000);
    const binary = await bk.createLedger({
      ensembleSize: 1,
      writeQuorumSize: 1,
      ackQuorumSize: 1,
      password: 'pw',
    });
    await binary.append(Buffer.from([0, 1, 0xfe, 0xff]));
    await binary.close();
    const bin = await shell('readledger', '-l', binary.ledgerId.toString(), '-p', 'pw');
    expect(bin.stdout).toBe('entry 0\tlength 4\thex:0001feff\n');

    // Far more than a pipe holds (64 KiB), in one write at the end (--json): all of it arrives before the command
    // exits. (Exiting at once used to cut it off, as it did a long listing whose reader was slow.)
    const large = await bk.createLedger({
      ensembleSize: 1,
      writeQuorumSize: 1,
      ackQuorumSize: 1,
      password: 'pw',
    });
    const payloads = Array.from({ length: 24 }, (_, i) => Buffer.alloc(16 * 1024, 0x80 + i)); // not text: 768 KiB as hex
    for (const payload of payloads) await large.append(payload);
    await large.close();
    const big = await shell('--json', 'readledger', '-l', large.ledgerId.toString(), '-p', 'pw');
    expect(big.code).toBe(0);
    expect(big.stdout.length).toBeGreaterThan(payloads.length * 32 * 1024);
    const document = JSON.parse(big.stdout) as { entries: Array<{ entryId: string; hex: string }> };
    expect(document.entries).toEqual(
      payloads.map((payload, i) => ({
        entryId: String(i),
        length: payload.length,
        hex: payload.toString('hex'),
      })),
    );
  });

  test('a missing ledger, a wrong password, bad flags and too few bookies are one line on stderr, exit 1', async () => {
    expectOneLineError(await shell('readledger', '-l', '987654321'), /^ledgerline: .*987654321/);
    expectOneLineError(
      await shell('readledger', '-l', simpleLedgerId.toString(), '-p', 'wrong'),
      new RegExp(`^ledgerline: .*${simpleLedgerId}`),
    );
    expectOneLineError(await shell('readledger', '-l', 'abc'), /^ledgerline: bad ledger id "abc"/);
    expectOneLineError(await shell('simpletest', '-n', 'many'), /^ledgerline: bad -n "many"/);
    expectOneLineError(
      await shell('simpletest', '-e', '4', '-w', '2', '-a', '2', '-n', '10'),
      /^ledgerline: .*(bookie|Bookie)/,
    );
    expectOneLineError(
      await shell('simpletest', '-e', '2', '-w', '3', '-a', '2'),
      /^ledgerline: .*writeQuorum/,
    );
  });

  test('ledgermetadata shows each segment with its first entry and ensemble', async () => {
    const writer = await bk.createLedger({
      ensembleSize: 2,
      writeQuorumSize: 2,
      ackQuorumSize: 2,
      password: '',
    });
    for (let i = 0; i < 10; i++) await writer.append(`before ${i}`);
    const first = writer.getLedgerMetadata().ensembles[0]!.ensemble;
    const victim = cluster.bookieIds.indexOf(first[1]!);
    await cluster.kill(victim);
    for (let i = 0; i < 10; i++) await writer.append(`after ${i}`);
    await writer.close();
    const spare = cluster.bookieIds.find((id) => !first.includes(id))!;
    const second = [first[0]!, spare];

    const text = await shell('ledgermetadata', '-l', writer.ledgerId.toString());
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain(
      `  ensembles:\n    0: [${first.join(', ')}]\n    10: [${second.join(', ')}]\n`,
    );
    const json = await shell('--json', 'ledgermetadata', '-l', writer.ledgerId.toString());
    expect(JSON.parse(json.stdout)).toMatchObject({
      state: 'CLOSED',
      lastEntryId: '19',
      ensembles: [
        { firstEntryId: '0', ensemble: first },
        { firstEntryId: '10', ensemble: second },
      ],
    });
    // Both segments read back through the CLI (the first from its surviving replica).
    const read = await shell('readledger', '-l', writer.ledgerId.toString(), '-fe', '8', '-le', '11');
    expect(
      read.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split('\t')[2]),
    ).toEqual(['"before 8"', '"before 9"', '"after 0"', '"after 1"']);
  });
});
