/**
 * Goal: what ledgerline writes to etcd is BookKeeper's etcd driver layout, byte for byte, so that an operator
 * with `etcdctl` (or BookKeeper's own etcd driver) reading the same etcd sees what they would see under
 * BookKeeper: the root keys of `initNewCluster`, ledgers at `<scope>/ledgers/<uuid(0, ledgerId)>` holding
 * format-v3 metadata, id buckets, bookie registrations on leases, cookies.
 *
 * Method: the metadata module writes through the store that `metadataServiceUri=etcd://.../ledgers` names, to a
 * real etcd started by the harness on loopback. Every assertion reads back with the real `etcdctl` (v3 API, JSON
 * output, keys and values base64-decoded): exact key lists, exact value bytes, lease ids and TTLs. A small
 * ledger's value is compared to hand-written protobuf bytes; a larger one is decoded with protobufjs straight
 * from DataFormats.proto, independently of our parser. Cases run in order on one cluster.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as protobuf from 'protobufjs';
import { silentLogger } from '../../../common';
import {
  LedgerIdGenerator,
  LedgerManager,
  RegistrationManager,
  createMetadataStore,
  initNewCluster,
  ledgerUuid,
  parseLedgerMetadata,
} from '../../../metadata';
import type { Cookie, LedgerMetadata, MetadataStore } from '../../../metadata';
import { EtcdServer, closedLedgerMetadata, openLedgerMetadata } from '../../harness';

// jest reads `testTimeout` only from the top-level config, not per project: set the integration project's 60 s.

const ROOT = join(__dirname, '..', '..', '..');
const DATA_FORMATS_PROTO = join(ROOT, 'metadata', 'proto', 'DataFormats.proto');
const HEADER_V3 = 'BookieMetadataFormatVersion\t3\n';
const run = promisify(execFile);
const logger = silentLogger();

/** One key as `etcdctl get -w json` shows it. */
interface EtcdKeyValue {
  key: string;
  value: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  /** etcd's per-key version: puts since creation. */
  version: bigint;
  /** 0n when the key is on no lease. */
  lease: bigint;
}

let etcd: EtcdServer;
let store: MetadataStore;
let scope: string;
let instanceId: string;

async function etcdctl(...args: string[]): Promise<string> {
  const { stdout } = await run('etcdctl', [`--endpoints=${etcd.endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 15000,
  });
  return stdout;
}

async function etcdctlGet(key: string, options: { prefix?: boolean } = {}): Promise<EtcdKeyValue[]> {
  const stdout = await etcdctl('get', ...(options.prefix === true ? ['--prefix'] : []), key, '-w', 'json');
  // etcdctl prints 64-bit integers (lease ids) as bare JSON numbers, beyond a double's precision: quote them.
  const parsed = JSON.parse(stdout.replace(/"(\w+)":(-?\d+)/g, '"$1":"$2"')) as {
    kvs?: Array<
      Partial<Record<'key' | 'value' | 'create_revision' | 'mod_revision' | 'version' | 'lease', string>>
    >;
  };
  return (parsed.kvs ?? []).map((kv) => ({
    key: Buffer.from(kv.key ?? '', 'base64').toString('utf8'),
    // etcd leaves an empty value out of the JSON.
    value: Buffer.from(kv.value ?? '', 'base64'),
    createRevision: BigInt(kv.create_revision ?? '0'),
    modRevision: BigInt(kv.mod_revision ?? '0'),
    version: BigInt(kv.version ?? '0'),
    lease: BigInt(kv.lease ?? '0'),
  }));
}

async function etcdctlGetOne(key: string): Promise<EtcdKeyValue> {
  const found = await etcdctlGet(key);
  expect(found.map((kv) => kv.key)).toEqual([key]);
  return found[0]!;
}

/** The protobuf body of a format-v3 value: checks the header and that the varint32 size covers the rest. */
function v3Body(value: Buffer): Buffer {
  expect(value.subarray(0, HEADER_V3.length).toString('latin1')).toBe(HEADER_V3);
  let size = 0;
  let pos = HEADER_V3.length;
  for (let shift = 0; ; shift += 7) {
    const byte = value[pos++]!;
    size += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  expect(value.length - pos).toBe(size);
  return value.subarray(pos);
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string): string => Buffer.from(text, 'latin1').toString('hex');

/** A one-bookie ledger whose format-v3 bytes are written out by hand below. */
const smallLedger: LedgerMetadata = {
  ensembleSize: 1,
  writeQuorumSize: 1,
  ackQuorumSize: 1,
  state: 'OPEN',
  lastEntryId: -1n,
  length: 0n,
  ensembles: [{ firstEntryId: 0n, ensemble: ['127.0.0.1:3181'] }],
  digestType: 'CRC32C',
  password: Buffer.from('pw'),
  ctime: 1767225600000n,
  customMetadata: new Map(),
};

/**
 * Its value, by hand: the header; 0x38 = 56, the body's size; then the fields in number order as protobuf-java
 * writes them: quorumSize=1, ensembleSize=1, length=0, lastEntryId=-1 (a ten-byte varint), state=OPEN, one
 * segment {ensembleMember, firstEntryId=0}, digestType=CRC32C, password, ackQuorumSize=1, ctime, cToken=0.
 */
const smallLedgerBytes = Buffer.concat([
  Buffer.from(HEADER_V3, 'latin1'),
  hex(`
    38
    0801 1001 1800
    20 ffffffffffffffffff01
    2801
    32 12 0a 0e ${ascii('127.0.0.1:3181')} 1000
    3803
    42 02 ${ascii('pw')}
    4801
    50 80d0eab6b733
    6000`),
]);

/** A three-bookie ledger with custom metadata; its id comes from bucket 5 of the id generator. */
const bigLedger = openLedgerMetadata(['10.0.0.1:3181', '10.0.0.2:3181', 'bookie-3'], {
  application: 'ledgerline-test',
  component: 'etcd-layout',
});
const bigLedgerId = (5n << 56n) | 1n;
const smallLedgerId = 0x1234n;
const highLedgerId = 0x7abcdef012345678n;

beforeAll(async () => {
  etcd = await EtcdServer.start();
  ({ store, scope } = await createMetadataStore(etcd.uri('/ledgers'), { logger }));
  ({ instanceId } = await initNewCluster(store, scope));
  const ledgers = new LedgerManager(store, scope, logger);
  const generator = new LedgerIdGenerator(store, scope, logger, { startBucket: 4 });
  expect(await generator.generateLedgerId()).toBe(bigLedgerId);
  await ledgers.createLedgerMetadata(bigLedgerId, bigLedger);
  await ledgers.createLedgerMetadata(smallLedgerId, smallLedger);
  await ledgers.createLedgerMetadata(highLedgerId, openLedgerMetadata(['127.0.0.1:3181']));
});

afterAll(async () => {
  await store?.close();
  await etcd?.stop();
});

describe('metadata > etcd layout (read with etcdctl)', () => {
  test('the URI path is the scope, and the scope key itself is the empty "initialized" marker', async () => {
    expect(scope).toBe('/ledgers');
    const marker = await etcdctlGetOne('/ledgers');
    expect(marker.value.length).toBe(0);
    expect(marker.lease).toBe(0n);
  });

  test('initNewCluster and the first ledgers leave exactly BookKeeper keys under the scope, in byte order', async () => {
    const keys = (await etcdctlGet('/ledgers/', { prefix: true })).map((kv) => kv.key);
    expect(keys).toEqual([
      '/ledgers/bookies',
      '/ledgers/bookies/readonly',
      '/ledgers/bookies/writable',
      '/ledgers/buckets',
      '/ledgers/buckets/005',
      '/ledgers/cookies',
      '/ledgers/instanceid',
      '/ledgers/layout',
      '/ledgers/ledgers',
      '/ledgers/ledgers/00000000-0000-0000-0000-000000001234',
      '/ledgers/ledgers/00000000-0000-0000-0500-000000000001',
      '/ledgers/ledgers/00000000-0000-0000-7abc-def012345678',
      '/ledgers/underreplication',
    ]);
    for (const id of [smallLedgerId, bigLedgerId, highLedgerId]) {
      expect(keys).toContain(`/ledgers/ledgers/${ledgerUuid(id)}`);
    }
  });

  test('layout and instanceid hold BookKeeper text; the directory keys are empty', async () => {
    expect((await etcdctlGetOne('/ledgers/layout')).value).toEqual(
      Buffer.from('2\norg.apache.bookkeeper.metadata.etcd.EtcdLedgerManagerFactory:0', 'ascii'),
    );
    const stored = (await etcdctlGetOne('/ledgers/instanceid')).value.toString('latin1');
    expect(stored).toBe(instanceId);
    expect(stored).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const dir of ['bookies', 'bookies/readonly', 'bookies/writable', 'buckets', 'cookies', 'ledgers']) {
      expect((await etcdctlGetOne(`/ledgers/${dir}`)).value.length).toBe(0);
    }
    expect((await etcdctlGetOne('/ledgers/underreplication')).value.length).toBe(0);
  });

  test('a small ledger value is the header, a varint size and LedgerMetadataFormat, byte for byte', async () => {
    const kv = await etcdctlGetOne('/ledgers/ledgers/00000000-0000-0000-0000-000000001234');
    expect(kv.value.toString('hex')).toBe(smallLedgerBytes.toString('hex'));
    expect(kv.lease).toBe(0n);
    expect(kv.version).toBe(1n);
  });

  test('a larger ledger value decodes with protobufjs from DataFormats.proto to what was created', async () => {
    const kv = await etcdctlGetOne('/ledgers/ledgers/00000000-0000-0000-0500-000000000001');
    const type = protobuf.loadSync(DATA_FORMATS_PROTO).lookupType('LedgerMetadataFormat');
    const decoded = type.toObject(type.decode(v3Body(kv.value)), {
      longs: String,
      enums: String,
      bytes: String,
      defaults: false,
    });
    const base64 = (text: string): string => Buffer.from(text).toString('base64');
    expect(decoded).toEqual({
      quorumSize: 2,
      ensembleSize: 3,
      length: '0',
      lastEntryId: '-1',
      state: 'OPEN',
      segment: [{ ensembleMember: ['10.0.0.1:3181', '10.0.0.2:3181', 'bookie-3'], firstEntryId: '0' }],
      digestType: 'CRC32C',
      password: base64('secret'),
      ackQuorumSize: 2,
      ctime: '1767225600000',
      customMetadata: [
        { key: 'application', value: base64('ledgerline-test') },
        { key: 'component', value: base64('etcd-layout') },
      ],
      cToken: '0',
    });
    expect(parseLedgerMetadata(kv.value)).toEqual(bigLedger);
  });

  test('an update is a new value at a new mod revision, the version the LedgerManager returned', async () => {
    const ledgers = new LedgerManager(store, scope, logger);
    const before = await etcdctlGetOne('/ledgers/ledgers/00000000-0000-0000-0500-000000000001');
    const { version } = await ledgers.readLedgerMetadata(bigLedgerId);
    expect(version).toBe(before.modRevision);
    const closed = closedLedgerMetadata(bigLedger, 41n, 4096n);
    const written = await ledgers.writeLedgerMetadata(bigLedgerId, closed, version);

    const after = await etcdctlGetOne('/ledgers/ledgers/00000000-0000-0000-0500-000000000001');
    expect(after.modRevision).toBe(written.version);
    expect(after.createRevision).toBe(before.createRevision);
    expect(after.version).toBe(2n);
    const type = protobuf.loadSync(DATA_FORMATS_PROTO).lookupType('LedgerMetadataFormat');
    expect(type.toObject(type.decode(v3Body(after.value)), { longs: String, enums: String })).toMatchObject({
      state: 'CLOSED',
      lastEntryId: '41',
      length: '4096',
    });
    expect(parseLedgerMetadata(after.value)).toEqual(closed);
  });

  test('an id bucket is an empty key whose etcd version is the in-bucket part of the last id', async () => {
    expect((await etcdctlGetOne('/ledgers/buckets/005')).version).toBe(1n);
    const ids = [];
    for (let i = 0; i < 2; i++) {
      ids.push(await new LedgerIdGenerator(store, scope, logger, { startBucket: 4 }).generateLedgerId());
    }
    expect(ids).toEqual([(5n << 56n) | 2n, (5n << 56n) | 3n]);
    const bucket = await etcdctlGetOne('/ledgers/buckets/005');
    expect(bucket.version).toBe(3n);
    expect(bucket.value.length).toBe(0);
    const other = await new LedgerIdGenerator(store, scope, logger, { startBucket: 126 }).generateLedgerId();
    expect(other).toBe((127n << 56n) | 1n);
    expect((await etcdctlGetOne('/ledgers/buckets/127')).version).toBe(1n);
  });

  test('a registered bookie is an empty key on its lease; read-only moves it; unregister and close remove it', async () => {
    const bookie = new RegistrationManager(store, scope, logger);
    try {
      await bookie.registerBookie('127.0.0.1:3181', false);
      const session = await bookie.getSession();
      const writable = await etcdctlGetOne('/ledgers/bookies/writable/127.0.0.1:3181');
      expect(writable.value.length).toBe(0);
      expect(writable.lease).not.toBe(0n);
      // Session ids are lease ids in hex, zero-padded to 16 digits as etcdctl's lease commands print them.
      expect(session.id).toMatch(/^[0-9a-f]{16}$/);
      expect(BigInt(`0x${session.id}`)).toBe(writable.lease);
      const lease = await etcdctl('lease', 'timetolive', session.id, '--keys');
      expect(lease).toContain(`lease ${session.id} granted with TTL(10s)`);
      expect(lease).toContain('attached keys([/ledgers/bookies/writable/127.0.0.1:3181])');

      await bookie.registerBookie('127.0.0.1:3181', true);
      const readonly = await etcdctlGetOne('/ledgers/bookies/readonly/127.0.0.1:3181');
      expect(readonly.lease).toBe(writable.lease);
      expect(readonly.value.length).toBe(0);
      expect(await etcdctlGet('/ledgers/bookies/writable/127.0.0.1:3181')).toEqual([]);

      await bookie.unregisterBookie('127.0.0.1:3181', true);
      expect((await etcdctlGet('/ledgers/bookies/', { prefix: true })).map((kv) => kv.key)).toEqual([
        '/ledgers/bookies/readonly',
        '/ledgers/bookies/writable',
      ]);

      await bookie.registerBookie('127.0.0.1:3181', false);
      expect((await etcdctlGetOne('/ledgers/bookies/writable/127.0.0.1:3181')).lease).toBe(writable.lease);
      await bookie.close();
      // Closing revokes the lease, and etcd deletes its keys with it.
      expect(await etcdctl('lease', 'timetolive', session.id)).toContain(
        `lease ${session.id} already expired`,
      );
      expect(await etcdctlGet('/ledgers/bookies/writable/127.0.0.1:3181')).toEqual([]);
    } finally {
      await bookie.close();
    }
  });

  test('a cookie is BookKeeper cookie text at cookies/<bookieId>, on no lease', async () => {
    const bookie = new RegistrationManager(store, scope, logger);
    try {
      const cookie: Cookie = {
        bookieId: '127.0.0.1:3181',
        journalDirs: ['/data/journal'],
        ledgerDirs: ['/data/l1', '/data/l2'],
        instanceId,
      };
      const version = await bookie.writeCookie(cookie, 'absent');
      const kv = await etcdctlGetOne('/ledgers/cookies/127.0.0.1:3181');
      expect(kv.value.toString('utf8')).toBe(
        '5\n' +
          'bookieHost: "127.0.0.1:3181"\n' +
          'journalDir: "/data/journal"\n' +
          'ledgerDirs: "2\\t/data/l1\\t/data/l2"\n' +
          `instanceId: "${instanceId}"\n`,
      );
      expect(kv.lease).toBe(0n);
      expect(kv.modRevision).toBe(version);
    } finally {
      await bookie.close();
    }
  });
});
