/**
 * Goal: what a bookie acknowledged survives a clean restart from the same directories — entries, master keys,
 * fences, explicit LACs — and the LAC readers see does not go back.
 * Method: a real BookieServer on the real Journal and DbLedgerStorage; close it (server, then bookie: final
 * checkpoint) and open a new one on the same directories, then ask over TCP. (State that only the journal
 * holds at a crash is crash-sigkill.test.ts's subject.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DigestManager, DigestType, StatusCode, masterKey } from '../../../protocol';
import { BookieClient, TempDirs } from '../../harness';
import { startBookieServer } from './server-fixture';

const PASSWORD = Buffer.from('restart');
const KEY = masterKey(PASSWORD);
const digest = (ledgerId: bigint): DigestManager =>
  DigestManager.create(ledgerId, PASSWORD, DigestType.CRC32C);
const entry = (ledgerId: bigint, entryId: bigint): Buffer =>
  digest(ledgerId).packEntry(entryId, entryId - 1n, 0n, Buffer.from(`ledger ${ledgerId} entry ${entryId}`));

describe('bookie > server > restart', () => {
  const dirs = new TempDirs();
  afterAll(() => dirs.removeAll());

  it('keeps entries, fences, keys and explicit LACs', async () => {
    const dataDir = dirs.make('bookie-restart-');
    const first = await startBookieServer(dataDir);
    let client = await BookieClient.connect(first.port);
    for (const ledgerId of [1n, 2n, 3n]) {
      for (let entryId = 0n; entryId < 50n; entryId++) {
        const added = await client.addEntry({
          ledgerId,
          entryId,
          masterKey: KEY,
          body: entry(ledgerId, entryId),
        });
        expect(added.status).toBe(StatusCode.EOK);
      }
    }
    expect((await client.fence(2n, -1n, KEY)).status).toBe(StatusCode.EOK);
    expect((await client.fence(4n, -1n, KEY)).status).toBe(StatusCode.ENOENTRY); // never written: fenced empty
    expect((await client.writeLac(3n, 60n, KEY, digest(3n).packLac(60n))).status).toBe(StatusCode.EOK);
    const lacBefore = (await client.readEntry(1n, -1n)).readResponse?.maxLAC;
    expect(lacBefore).toBe(48n);
    await client.close();
    await first.stop();
    expect(readFileSync(join(dataDir, 'ledgers', 'current', 'lastMark'))).toHaveLength(16);

    const second = await startBookieServer(dataDir);
    client = await BookieClient.connect(second.port);
    try {
      for (const ledgerId of [1n, 2n, 3n]) {
        for (let entryId = 0n; entryId < 50n; entryId++) {
          const read = await client.readEntry(ledgerId, entryId);
          expect(read.readResponse?.body).toEqual(entry(ledgerId, entryId));
        }
      }
      // Fences hold: plain adds refused, recovery adds accepted.
      expect(
        (await client.addEntry({ ledgerId: 2n, entryId: 50n, masterKey: KEY, body: entry(2n, 50n) })).status,
      ).toBe(StatusCode.EFENCED);
      expect(
        (await client.addEntry({ ledgerId: 4n, entryId: 0n, masterKey: KEY, body: entry(4n, 0n) })).status,
      ).toBe(StatusCode.EFENCED);
      const recovery = await client.addEntry({
        ledgerId: 2n,
        entryId: 50n,
        masterKey: KEY,
        body: entry(2n, 50n),
        recoveryAdd: true,
      });
      expect(recovery.status).toBe(StatusCode.EOK);
      // Master keys were kept: the wrong one is still refused, the right one still writes.
      expect(
        (
          await client.addEntry({
            ledgerId: 1n,
            entryId: 50n,
            masterKey: masterKey(Buffer.from('x')),
            body: entry(1n, 50n),
          })
        ).status,
      ).toBe(StatusCode.EUA);
      expect(
        (await client.addEntry({ ledgerId: 1n, entryId: 50n, masterKey: KEY, body: entry(1n, 50n) })).status,
      ).toBe(StatusCode.EOK);
      // The explicit LAC and the LAC readers see.
      const lac = await client.readLac(3n);
      expect(digest(3n).verifyLac(lac.readLacResponse!.lacBody!)).toBe(60n);
      expect((await client.readEntry(3n, -1n)).readResponse?.maxLAC).toBe(60n);
      expect((await client.readEntry(1n, -1n)).readResponse?.maxLAC).toBeGreaterThanOrEqual(lacBefore!);
    } finally {
      await client.close();
      await second.stop();
    }
  });
});
