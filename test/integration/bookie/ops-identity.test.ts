/**
 * Goal: a bookie's identity check (checkAndWriteCookies, BookKeeper's cookie validation) lets a brand-new
 * bookie and a restarted one start, and refuses every start that could serve the wrong disks as this bookie:
 * a wiped dir, a wiped bookie, swapped dirs, a changed bookie id, changed dirs, another cluster's cookie, a
 * cookie lost from the metadata store, a corrupt cookie, a non-empty new dir. Each refusal's message must say
 * which check failed and what was expected versus found.
 *
 * Method: real dirs in a temp dir; every case runs against a real etcd (started by the harness on free loopback
 * ports) and against the embedded RocksDB store, each case in a cluster of its own (initNewCluster under a fresh
 * scope). Disks are "wiped" and "swapped" by removing and renaming real files.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../common';
import {
  EmbeddedMetadataStore,
  EtcdMetadataStore,
  RegistrationManager,
  initNewCluster,
  parseCookie,
  serializeCookie,
} from '../../../metadata';
import type { MetadataStore } from '../../../metadata';
import {
  checkAndWriteCookies,
  cookieFilePath,
  CookieValidationError,
  type CheckCookiesOptions,
} from '../../../bookie';
import { EtcdServer, TempDirs } from '../../harness';

const logger = silentLogger();
let etcd: EtcdServer;
const tempDirs = new TempDirs();
const stores: MetadataStore[] = [];
let scopeCounter = 0;

beforeAll(async () => {
  etcd = await EtcdServer.start();
});

afterAll(async () => {
  for (const store of stores.splice(0)) await store.close();
  await etcd?.stop();
  tempDirs.removeAll();
});

const implementations = [
  {
    name: 'etcd',
    open: async (): Promise<MetadataStore> =>
      EtcdMetadataStore.connect({ endpoints: [etcd.endpoint], logger }),
  },
  {
    name: 'embedded',
    open: async (): Promise<MetadataStore> =>
      EmbeddedMetadataStore.open({ dir: tempDirs.make('ledgerline-identity-md-'), logger }),
  },
];

/** A bookie's dirs under one temp root: journal, two ledger dirs. */
interface BookieLayout {
  bookieId: string;
  journalDirs: string[];
  ledgerDirs: string[];
}

function newLayout(bookieId: string): BookieLayout {
  const root = tempDirs.make('ledgerline-identity-');
  return {
    bookieId,
    journalDirs: [join(root, 'journal')],
    ledgerDirs: [join(root, 'ledgers-1'), join(root, 'ledgers-2')],
  };
}

/** The error a refused start throws, checked to be a CookieValidationError. */
async function refusal(check: Promise<unknown>): Promise<CookieValidationError> {
  const error = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CookieValidationError);
  return error as CookieValidationError;
}

describe.each(implementations)('bookie > identity > cookies ($name)', (impl) => {
  let store: MetadataStore;
  let scope: string;
  let instanceId: string;
  let registrationManager: RegistrationManager;

  beforeAll(async () => {
    store = await impl.open();
    stores.push(store);
  });

  beforeEach(async () => {
    scopeCounter += 1;
    scope = `/identity-${process.pid}-${scopeCounter}`;
    instanceId = (await initNewCluster(store, scope)).instanceId;
    registrationManager = new RegistrationManager(store, scope, logger);
  });

  function options(layout: BookieLayout, overrides: Partial<CheckCookiesOptions> = {}): CheckCookiesOptions {
    return { ...layout, registrationManager, instanceId, logger, ...overrides };
  }

  async function stampNewBookie(layout: BookieLayout): Promise<void> {
    await expect(checkAndWriteCookies(options(layout))).resolves.toMatchObject({ outcome: 'new-bookie' });
  }

  test('a brand-new bookie writes the same cookie to every dir and to the store, atomically', async () => {
    const layout = newLayout('127.0.0.1:3181');
    const result = await checkAndWriteCookies(options(layout));
    const expected = {
      bookieId: layout.bookieId,
      journalDirs: layout.journalDirs,
      ledgerDirs: layout.ledgerDirs,
    };
    expect(result).toEqual({ outcome: 'new-bookie', cookie: { ...expected, instanceId } });
    for (const dir of [...layout.journalDirs, ...layout.ledgerDirs]) {
      const text = readFileSync(cookieFilePath(dir));
      expect(text).toEqual(serializeCookie(result.cookie));
      // The temp file of the atomic write is renamed away.
      expect(readdirSync(join(dir, 'current'))).toEqual(['VERSION']);
    }
    expect((await registrationManager.readCookie(layout.bookieId)).cookie).toEqual(result.cookie);
  });

  test('a restart with the same dirs and configuration passes and changes nothing', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const storedBefore = await registrationManager.readCookie(layout.bookieId);
    await expect(checkAndWriteCookies(options(layout))).resolves.toMatchObject({ outcome: 'verified' });
    expect(await registrationManager.readCookie(layout.bookieId)).toEqual(storedBefore);
  });

  test('a journal dir that is also a ledger dir is checked once and passes on restart', async () => {
    const layout = newLayout('127.0.0.1:3181');
    const shared = { ...layout, ledgerDirs: [layout.journalDirs[0]!] };
    await stampNewBookie(shared);
    await expect(checkAndWriteCookies(options(shared))).resolves.toMatchObject({ outcome: 'verified' });
  });

  test('refuses a wiped ledger dir (its cookie gone, the others and the store still have theirs)', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const wiped = layout.ledgerDirs[1]!;
    rmSync(join(wiped, 'current'), { recursive: true });
    const error = await refusal(checkAndWriteCookies(options(layout)));
    expect(error.check).toBe('missing-local-cookie');
    expect(error.message).toContain(`cookie check 'missing-local-cookie' failed at ledger dir ${wiped}`);
    expect(error.message).toContain('found no cookie');
    expect(error.message).toContain('wiped or replaced');
  });

  test('refuses a wiped bookie: the store holds its cookie, every local dir is empty', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    for (const dir of [...layout.journalDirs, ...layout.ledgerDirs]) rmSync(dir, { recursive: true });
    const error = await refusal(checkAndWriteCookies(options(layout)));
    expect(error.check).toBe('missing-local-cookie');
    expect(error.message).toContain('every local dir');
    expect(error.message).toContain(
      `expected the cookie of bookie ${layout.bookieId} that the metadata store holds`,
    );
    expect(error.message).toContain('found no cookie in any dir');
    // Nothing was written: the refused bookie did not re-stamp its empty dirs.
    expect(() => readFileSync(cookieFilePath(layout.journalDirs[0]!))).toThrow(/ENOENT/);
  });

  test('refuses a dir that lost its cookie when the store lost its cookie too (no new bookie over old data)', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    await registrationManager.removeCookie(layout.bookieId, 'any');
    rmSync(join(layout.ledgerDirs[0]!, 'current'), { recursive: true });
    const error = await refusal(checkAndWriteCookies(options(layout)));
    expect(error.check).toBe('missing-local-cookie');
    expect(error.message).toContain(`ledger dir ${layout.ledgerDirs[0]}`);
  });

  test('refuses swapped dirs: a ledger dir now holding another bookie cookie', async () => {
    const a = newLayout('127.0.0.1:3181');
    const b = newLayout('127.0.0.1:3182');
    await stampNewBookie(a);
    await stampNewBookie(b);
    // The disks behind A's and B's second ledger dir were swapped (e.g. mounts exchanged).
    const [aDir, bDir] = [a.ledgerDirs[1]!, b.ledgerDirs[1]!];
    renameSync(aDir, `${aDir}.swap`);
    renameSync(bDir, aDir);
    renameSync(`${aDir}.swap`, bDir);
    for (const [layout, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const error = await refusal(checkAndWriteCookies(options(layout)));
      expect(error.check).toBe('bookie-id');
      expect(error.message).toContain(`ledger dir ${layout.ledgerDirs[1]}`);
      expect(error.message).toContain(
        `expected bookie id ${layout.bookieId}, found bookie id ${other.bookieId}`,
      );
      expect(error.message).toContain('dirs were swapped between bookies, or the bookie id changed');
    }
  });

  test('refuses a changed bookie id on the same dirs', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const error = await refusal(
      checkAndWriteCookies(options({ ...layout, bookieId: 'bookie-renamed:3181' })),
    );
    expect(error.check).toBe('bookie-id');
    expect(error.message).toContain(`journal dir ${layout.journalDirs[0]}`);
    expect(error.message).toContain('expected bookie id bookie-renamed:3181, found bookie id 127.0.0.1:3181');
  });

  test('refuses a cookie of another cluster (different instance id)', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    // The same bookie pointed at a freshly initialized cluster: no stored cookie there, local cookies of the old one.
    const otherScope = `${scope}-other`;
    const other = await initNewCluster(store, otherScope);
    const otherManager = new RegistrationManager(store, otherScope, logger);
    const error = await refusal(
      checkAndWriteCookies(
        options(layout, { registrationManager: otherManager, instanceId: other.instanceId }),
      ),
    );
    expect(error.check).toBe('instance-id');
    expect(error.message).toContain(
      `expected instance id ${other.instanceId}, found instance id ${instanceId}`,
    );
    expect(error.message).toContain('another cluster');
  });

  test('refuses when the stored cookie names another instance id', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const error = await refusal(checkAndWriteCookies(options(layout, { instanceId: 'not-this-cluster' })));
    expect(error.check).toBe('instance-id');
    expect(error.message).toContain(`the metadata store's cookie for bookie ${layout.bookieId}`);
    expect(error.message).toContain(`expected instance id not-this-cluster, found instance id ${instanceId}`);
  });

  test('refuses local cookies whose bookie has no cookie in the metadata store', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    await registrationManager.removeCookie(layout.bookieId, 'any');
    const error = await refusal(checkAndWriteCookies(options(layout)));
    expect(error.check).toBe('missing-remote-cookie');
    expect(error.message).toContain(`the metadata store's cookie for bookie ${layout.bookieId}`);
    expect(error.message).toContain('expected the cookie that 3 local dir(s) hold, found no cookie');
  });

  test('refuses changed journal dirs', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const moved = join(tempDirs.make('ledgerline-identity-'), 'journal');
    const error = await refusal(checkAndWriteCookies(options({ ...layout, journalDirs: [moved] })));
    expect(error.check).toBe('journal-dirs');
    expect(error.message).toContain(
      `expected journal dirs [${moved}], found journal dirs [${layout.journalDirs[0]}]`,
    );
  });

  test('refuses an added ledger dir without storage expansion, and a removed one even with it', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const added = join(tempDirs.make('ledgerline-identity-'), 'ledgers-3');
    const grown = { ...layout, ledgerDirs: [...layout.ledgerDirs, added] };
    const error = await refusal(checkAndWriteCookies(options(grown)));
    expect(error.check).toBe('ledger-dirs');
    expect(error.message).toContain(`expected ledger dirs [${grown.ledgerDirs.join(', ')}]`);
    expect(error.message).toContain(`found ledger dirs [${layout.ledgerDirs.join(', ')}]`);

    const shrunk = { ...layout, ledgerDirs: [layout.ledgerDirs[0]!] };
    const shrunkError = await refusal(checkAndWriteCookies(options(shrunk, { allowStorageExpansion: true })));
    expect(shrunkError.check).toBe('ledger-dirs');
  });

  test('storage expansion adds a new empty ledger dir and rewrites every cookie', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const added = join(tempDirs.make('ledgerline-identity-'), 'ledgers-3');
    const grown = { ...layout, ledgerDirs: [...layout.ledgerDirs, added] };
    const result = await checkAndWriteCookies(options(grown, { allowStorageExpansion: true }));
    expect(result.outcome).toBe('expanded');
    expect(result.cookie.ledgerDirs).toEqual(grown.ledgerDirs);
    expect((await registrationManager.readCookie(layout.bookieId)).cookie).toEqual(result.cookie);
    for (const dir of [...grown.journalDirs, ...grown.ledgerDirs]) {
      expect(parseCookie(readFileSync(cookieFilePath(dir)))).toEqual(result.cookie);
    }
    // From now on the grown configuration is the bookie's, with or without expansion.
    await expect(checkAndWriteCookies(options(grown))).resolves.toMatchObject({ outcome: 'verified' });
  });

  test('storage expansion still refuses a known dir that lost its cookie, and a non-empty new dir', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    const added = join(tempDirs.make('ledgerline-identity-'), 'ledgers-3');
    const grown = { ...layout, ledgerDirs: [...layout.ledgerDirs, added] };
    mkdirSync(join(added, 'current'), { recursive: true });
    writeFileSync(join(added, 'current', '1.log'), 'entries of someone else');
    const notEmpty = await refusal(checkAndWriteCookies(options(grown, { allowStorageExpansion: true })));
    expect(notEmpty.check).toBe('dir-not-empty');
    expect(notEmpty.message).toContain(`ledger dir ${added}`);
    expect(notEmpty.message).toContain(
      'expected an empty dir (it has no cookie), found files in its current/ dir',
    );

    rmSync(join(added, 'current'), { recursive: true });
    rmSync(join(layout.ledgerDirs[0]!, 'current'), { recursive: true });
    const wiped = await refusal(checkAndWriteCookies(options(grown, { allowStorageExpansion: true })));
    expect(wiped.check).toBe('missing-local-cookie');
    expect(wiped.message).toContain(`ledger dir ${layout.ledgerDirs[0]}`);
  });

  test('a new bookie refuses a dir that already holds data', async () => {
    const layout = newLayout('127.0.0.1:3181');
    const dirty = layout.ledgerDirs[0]!;
    mkdirSync(join(dirty, 'current'), { recursive: true });
    writeFileSync(join(dirty, 'current', '0.log'), 'old entry log');
    const error = await refusal(checkAndWriteCookies(options(layout)));
    expect(error.check).toBe('dir-not-empty');
    expect(error.message).toContain(`ledger dir ${dirty}`);
    // Refused before anything was written, locally or in the store.
    await expect(registrationManager.readCookie(layout.bookieId)).rejects.toThrow(/no cookie/);
  });

  test('refuses a corrupt cookie file instead of treating it as missing', async () => {
    const layout = newLayout('127.0.0.1:3181');
    await stampNewBookie(layout);
    writeFileSync(cookieFilePath(layout.ledgerDirs[0]!), 'garbage\u0000');
    const error = await refusal(checkAndWriteCookies(options(layout)));
    expect(error.check).toBe('unreadable-cookie');
    expect(error.message).toContain(`ledger dir ${layout.ledgerDirs[0]}`);
    expect(error.message).toContain('expected a BookKeeper cookie, found bad cookie');
  });
});
