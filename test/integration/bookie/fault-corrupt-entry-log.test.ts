/**
 * Goal: damage inside an entry log never crashes the bookie. A flipped payload byte is returned as stored, so
 * the client's digest check (DigestManager) is what rejects it; damage the bookie can see itself — an entry
 * whose ids are not the ones the index promised, an impossible size — is answered EIO; every other entry,
 * including its neighbours in the same read-ahead block, is served intact, and the bookie keeps taking adds.
 *
 * Method: the bare bookie process (test/fixtures/bookie-process.js) writes two ledgers and is stopped with
 * SIGTERM, which checkpoints everything into the entry log. The test then edits bytes of
 * `<ledgerDir>/current/*.log` in place, found by searching the file for the entries' exact bytes, restarts
 * the bookie on the same directories and reads every entry over TCP.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DigestManager, DigestMismatchError, DigestType, StatusCode, masterKey } from '../../../protocol';
import { BookieClient, TempDirs, requireBuiltBookie, startBareBookie } from '../../harness';
import type { BookieProcess } from '../../harness';

const PASSWORD = Buffer.from('corrupt-entry-log');
const KEY = masterKey(PASSWORD);
const LEDGERS = [1n, 2n];
const ENTRIES = 60n;
/** Payload byte flipped: returned as stored, caught by the digest. */
const FLIPPED_PAYLOAD: [bigint, bigint] = [1n, 20n];
/** A byte of the entry's ledgerId flipped: the bookie sees it does not hold the entry the index points at. */
const FLIPPED_LEDGER_ID: [bigint, bigint] = [1n, 30n];
/** The record's size int set to an impossible value. */
const BAD_SIZE: [bigint, bigint] = [2n, 10n];

const digests = new Map(LEDGERS.map((id) => [id, DigestManager.create(id, PASSWORD, DigestType.CRC32C)]));

function body(ledgerId: bigint, entryId: bigint): Buffer {
  const payload = Buffer.from(`ledger ${ledgerId} entry ${entryId} `.repeat(20));
  return digests
    .get(ledgerId)!
    .packEntry(entryId, entryId - 1n, BigInt(payload.length) * (entryId + 1n), payload);
}

/** Where entry (ledgerId, entryId) starts in the entry logs: the file and the offset of its packed bytes. */
function locate(entryLogDir: string, ledgerId: bigint, entryId: bigint): { path: string; offset: number } {
  const wanted = body(ledgerId, entryId);
  for (const name of readdirSync(entryLogDir).filter((n) => /^[0-9a-f]+\.log$/.test(n))) {
    const path = join(entryLogDir, name);
    const offset = readFileSync(path).indexOf(wanted);
    if (offset >= 0) return { path, offset };
  }
  throw new Error(`entry ${ledgerId}/${entryId} is in no entry log of ${entryLogDir}`);
}

/** Rewrites bytes of a file in place. */
function patch(path: string, offset: number, edit: (bytes: Buffer) => void, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, offset);
    edit(bytes);
    writeSync(fd, bytes, 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

describe('bookie > faults > a corrupted entry log', () => {
  const dirs = new TempDirs();
  const started: BookieProcess[] = [];
  const start = async (dataDir: string): Promise<BookieProcess> => {
    const bookie = await startBareBookie(dataDir, []);
    started.push(bookie);
    return bookie;
  };

  beforeAll(requireBuiltBookie);
  afterEach(async () => {
    for (const bookie of started.splice(0)) await bookie.stop('SIGKILL');
  });
  afterAll(() => dirs.removeAll());

  test('a flipped payload byte is served as stored and caught by the digest; bad ids and sizes answer EIO', async () => {
    const dataDir = dirs.make('bookie-corrupt-');
    let bookie = await start(dataDir);
    let client = await BookieClient.connect(bookie.port);
    for (const ledgerId of LEDGERS) {
      for (let entryId = 0n; entryId < ENTRIES; entryId++) {
        const add = await client.addEntry({
          ledgerId,
          entryId,
          masterKey: KEY,
          body: body(ledgerId, entryId),
        });
        expect(add.status).toBe(StatusCode.EOK);
      }
    }
    await client.close();
    expect(await bookie.stop('SIGTERM')).toBe(0);

    const entryLogDir = join(dataDir, 'ledgers', 'current');
    const payload = locate(entryLogDir, ...FLIPPED_PAYLOAD);
    const flippedAt = body(...FLIPPED_PAYLOAD).length - 7; // inside the payload, past header and digest
    patch(payload.path, payload.offset + flippedAt, (b) => (b[0] = b[0]! ^ 0x40), 1);
    const ids = locate(entryLogDir, ...FLIPPED_LEDGER_ID);
    patch(ids.path, ids.offset + 7, (b) => (b[0] = b[0]! ^ 0x01), 1); // low byte of the ledgerId
    const size = locate(entryLogDir, ...BAD_SIZE);
    patch(size.path, size.offset - 4, (b) => b.writeInt32BE(0x7ffffff0, 0), 4); // the record's size int

    bookie = await start(dataDir);
    client = await BookieClient.connect(bookie.port);
    const damaged = (ledgerId: bigint, entryId: bigint): boolean =>
      [FLIPPED_PAYLOAD, FLIPPED_LEDGER_ID, BAD_SIZE].some(([l, e]) => l === ledgerId && e === entryId);
    // Every intact entry, in order (so read-ahead blocks take in the damaged ones too).
    for (const ledgerId of LEDGERS) {
      for (let entryId = 0n; entryId < ENTRIES; entryId++) {
        if (damaged(ledgerId, entryId)) continue;
        const read = await client.readEntry(ledgerId, entryId);
        expect({ ledgerId, entryId, status: StatusCode[read.status] }).toEqual({
          ledgerId,
          entryId,
          status: 'EOK',
        });
        expect(read.readResponse!.body).toEqual(body(ledgerId, entryId));
        expect(digests.get(ledgerId)!.verifyEntry(entryId, read.readResponse!.body!).entryId).toBe(entryId);
      }
    }

    const flipped = await client.readEntry(...FLIPPED_PAYLOAD);
    expect(StatusCode[flipped.status]).toBe('EOK');
    const served = flipped.readResponse!.body!;
    const original = body(...FLIPPED_PAYLOAD);
    expect(served.length).toBe(original.length);
    const differing = [...served.keys()].filter((i) => served[i] !== original[i]);
    expect(differing).toEqual([flippedAt]);
    expect(() => digests.get(FLIPPED_PAYLOAD[0])!.verifyEntry(FLIPPED_PAYLOAD[1], served)).toThrow(
      DigestMismatchError,
    );

    for (const [ledgerId, entryId] of [FLIPPED_LEDGER_ID, BAD_SIZE]) {
      const read = await client.readEntry(ledgerId, entryId);
      expect({ ledgerId, entryId, status: StatusCode[read.status] }).toEqual({
        ledgerId,
        entryId,
        status: 'EIO',
      });
    }

    // Still up, still taking adds, and the damage did not spread to what was read before.
    expect(bookie.running()).toBe(true);
    const add = await client.addEntry({
      ledgerId: 2n,
      entryId: ENTRIES,
      masterKey: KEY,
      body: body(2n, ENTRIES),
    });
    expect(StatusCode[add.status]).toBe('EOK');
    const again = await client.readEntry(1n, 19n);
    expect(again.readResponse?.body).toEqual(body(1n, 19n));
    await client.close();
  });

  test('a damaged entry-log header costs no entry: the log is scanned instead of ignored', async () => {
    const dataDir = dirs.make('bookie-corrupt-header-');
    let bookie = await start(dataDir);
    let client = await BookieClient.connect(bookie.port);
    for (let entryId = 0n; entryId < ENTRIES; entryId++) {
      const add = await client.addEntry({ ledgerId: 1n, entryId, masterKey: KEY, body: body(1n, entryId) });
      expect(add.status).toBe(StatusCode.EOK);
    }
    await client.close();
    expect(await bookie.stop('SIGTERM')).toBe(0);

    const { path } = locate(join(dataDir, 'ledgers', 'current'), 1n, 0n);
    patch(path, 0, (b) => (b[0] = b[0]! ^ 0x01), 1); // "BKLO" no more

    bookie = await start(dataDir);
    client = await BookieClient.connect(bookie.port);
    const wrong: string[] = [];
    for (let entryId = 0n; entryId < ENTRIES; entryId++) {
      const read = await client.readEntry(1n, entryId);
      if (read.status !== StatusCode.EOK || !read.readResponse?.body?.equals(body(1n, entryId))) {
        wrong.push(`1/${entryId}: ${StatusCode[read.status]}`);
      }
    }
    expect(wrong).toEqual([]);
    await client.close();
  });
});
