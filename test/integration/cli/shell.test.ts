/**
 * Goal: `ledgerline shell` behaves for a person and a script as the README says (`ledgerline standalone` has its
 * own file: test/integration/standalone.test.ts).
 * Method: run the real built command (`node bin/ledgerline.js`, compiled by `npm test`'s build step) as a child
 * process against a real etcd and a real embedded RocksDB store; state is prepared with the metadata module's own
 * public API; assertions are on exit codes, stdout and stderr.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  LedgerIdGenerator,
  LedgerManager,
  RegistrationManager,
  createMetadataStore,
} from '../../../metadata';
import type { MetadataStore } from '../../../metadata';
import { silentLogger } from '../../../common';
import { EtcdServer, TempDirs, freePort, openLedgerMetadata } from '../../harness';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'ledgerline.js');
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

async function ledgerline(...args: string[]): Promise<Result> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { cwd: ROOT, timeout: 30000 });
    return { code: 0, stdout, stderr, elapsedMs: Date.now() - started };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: e.code ?? -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
      elapsedMs: Date.now() - started,
    };
  }
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

describe('cli > shell on etcd', () => {
  let etcd: EtcdServer;
  let uri: string;
  let store: MetadataStore;
  const logger = silentLogger();

  beforeAll(async () => {
    etcd = await EtcdServer.start();
    uri = etcd.uri('/ledgers');
    store = (await createMetadataStore(uri, { logger })).store;
  });
  afterAll(async () => {
    await store.close();
    await etcd.stop();
  });

  it('reports a missing cluster instead of listing nothing', async () => {
    const result = await ledgerline('shell', 'listledgers', '--metadata-service-uri', uri);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      'ledgerline: no cluster at /ledgers: run `ledgerline shell initnewcluster` first',
    );
  });

  it('initnewcluster creates the cluster once and is idempotent', async () => {
    const first = await ledgerline('shell', 'initnewcluster', '--metadata-service-uri', uri);
    expect(first.code).toBe(0);
    const instanceId = /instance id ([0-9a-f-]{36})/.exec(first.stdout)?.[1];
    expect(first.stdout).toContain('Created new cluster at /ledgers');
    const second = await ledgerline('shell', 'initnewcluster', '--metadata-service-uri', uri, '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ scope: '/ledgers', created: false, instanceId });
    const which = await ledgerline('shell', 'whatisinstanceid', '--metadata-service-uri', uri);
    expect(which.stdout.trim()).toBe(`InstanceId: ${instanceId}`);
  });

  it('listbookies shows writable and read-only registrations', async () => {
    const registration = new RegistrationManager(store, '/ledgers', logger, { ttlSeconds: 5 });
    await registration.registerBookie('127.0.0.1:3181', false);
    await registration.registerBookie('127.0.0.1:3182', false);
    await registration.registerBookie('127.0.0.1:3183', true);
    try {
      const all = await ledgerline('shell', 'listbookies', '--metadata-service-uri', uri);
      expect(all.stdout).toBe(
        'ReadWrite Bookies:\n  127.0.0.1:3181\n  127.0.0.1:3182\nReadOnly Bookies:\n  127.0.0.1:3183\n',
      );
      const ro = await ledgerline('shell', 'listbookies', '-ro', '--json', '--metadata-service-uri', uri);
      expect(JSON.parse(ro.stdout)).toEqual({ readOnly: ['127.0.0.1:3183'] });
      const rw = await ledgerline('shell', 'listbookies', '-rw', '--json', '--metadata-service-uri', uri);
      expect(JSON.parse(rw.stdout)).toEqual({ writable: ['127.0.0.1:3181', '127.0.0.1:3182'] });
    } finally {
      await registration.close();
    }
    const none = await ledgerline('shell', 'listbookies', '-rw', '--metadata-service-uri', uri);
    expect(none.stdout).toBe('ReadWrite Bookies:\n  (none)\n');
  });

  it('lists, shows and deletes ledgers', async () => {
    const ids = new LedgerIdGenerator(store, '/ledgers', logger);
    const ledgers = new LedgerManager(store, '/ledgers', logger);
    const a = await ids.generateLedgerId();
    const b = await ids.generateLedgerId();
    await ledgers.createLedgerMetadata(
      a,
      openLedgerMetadata(['127.0.0.1:3181', '127.0.0.1:3182'], { application: 'test' }),
    );
    await ledgers.createLedgerMetadata(
      b,
      openLedgerMetadata(['127.0.0.1:3181', '127.0.0.1:3182', '127.0.0.1:3183']),
    );
    const sorted = [a, b].sort((x, y) => (x < y ? -1 : 1)).map(String);

    const list = await ledgerline('shell', 'listledgers', '--metadata-service-uri', uri);
    expect(list.stdout).toBe(sorted.map((id) => `ledgerID: ${id}\n`).join(''));
    const listJson = await ledgerline('shell', 'listledgers', '--json', '--metadata-service-uri', uri);
    expect(JSON.parse(listJson.stdout)).toEqual(sorted);

    const shown = await ledgerline('shell', 'ledgermetadata', '-l', String(a), '--metadata-service-uri', uri);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(
      [
        `ledgerID: ${a}`,
        '  state: OPEN',
        '  ensembleSize: 2, writeQuorumSize: 2, ackQuorumSize: 2',
        '  lastEntryId: -1, length: 0',
        '  digestType: CRC32C, password: 6 bytes (not shown)',
        '  ctime: 2026-01-01T00:00:00.000Z',
        '  ensembles:',
        '    0: [127.0.0.1:3181, 127.0.0.1:3182]',
        '  customMetadata:',
        '    application: test',
        '',
      ].join('\n'),
    );
    expect(shown.stdout).not.toContain('secret');

    const withMeta = await ledgerline('shell', 'listledgers', '-m', '--json', '--metadata-service-uri', uri);
    const docs = JSON.parse(withMeta.stdout) as Array<{ ledgerId: string; ensembleSize: number }>;
    expect(docs.map((d) => [d.ledgerId, d.ensembleSize])).toEqual(
      sorted.map((id) => [id, id === String(a) ? 2 : 3]),
    );

    const refused = await ledgerline('shell', 'deleteledger', '-l', String(a), '--metadata-service-uri', uri);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('not confirmed (use -f');
    expect(await ledgers.ledgerExists(a)).toBe(true);

    const deleted = await ledgerline(
      'shell',
      'deleteledger',
      '-l',
      String(a),
      '-f',
      '--metadata-service-uri',
      uri,
    );
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe(`Deleted ledger ${a}`);
    expect(await ledgers.ledgerExists(a)).toBe(false);

    const missing = await ledgerline(
      'shell',
      'ledgermetadata',
      '-l',
      String(a),
      '--metadata-service-uri',
      uri,
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain(String(a));
  });

  it('rejects a bad ledger id with a one-line error', async () => {
    const result = await ledgerline('shell', 'ledgermetadata', '-l', 'abc', '--metadata-service-uri', uri);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      'ledgerline: bad ledger id "abc": expected an integer from 0 to 9223372036854775807',
    );
  });
});

describe('cli > shell failures', () => {
  const temp = new TempDirs();
  afterAll(() => temp.removeAll());

  it('an unreachable etcd gives a one-line error and a non-zero exit within seconds', async () => {
    const port = await freePort();
    const result = await ledgerline(
      'shell',
      'listbookies',
      '--metadata-service-uri',
      `etcd://127.0.0.1:${port}/ledgers`,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^ledgerline: /);
    expect(result.elapsedMs).toBeLessThan(10000);
  });

  it.each([['zk://127.0.0.1:2181/ledgers'], ['etcd://'], ['not a uri']])(
    'a wrong URI %s gives a one-line error',
    async (uri) => {
      const result = await ledgerline('shell', 'listbookies', '--metadata-service-uri', uri);
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('metadataServiceUri');
    },
  );

  it('no URI at all says how to give one', async () => {
    const result = await ledgerline('shell', 'listbookies');
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      'ledgerline: no metadataServiceUri: pass --metadata-service-uri <uri> or --conf <file>',
    );
  });

  it('reads metadataServiceUri from a conf file', async () => {
    const dir = temp.make();
    const confPath = join(dir, 'bookie.conf');
    writeFileSync(confPath, `bookiePort=3181\nmetadataServiceUri=embedded:${join(dir, 'md')}\n`);
    const init = await ledgerline('shell', 'initnewcluster', '--conf', confPath);
    expect(init.code).toBe(0);
    const list = await ledgerline('shell', 'listledgers', '--conf', confPath);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('');
  });
});
