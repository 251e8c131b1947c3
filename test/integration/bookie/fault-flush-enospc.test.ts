/**
 * Goal: a bookie whose flush fails on a full ledger disk checks its disks at once and turns read-only, without
 * waiting for the next periodic disk check — clients get EREADONLY (and move their ensembles) instead of adds
 * piling up behind write caches that cannot be flushed; everything acknowledged still reads back.
 *
 * Method: the ledger directory is a real 16 MiB tmpfs mounted for this test (root needed); the journal stays on
 * the ordinary disk. The periodic disk check is set to 10 minutes, so only the check after a failed flush can
 * see the disk fill. A filler file takes the disk down to ~1.5 MiB free, then pipelined adds fill the rest
 * through the checkpoints (every 300 ms) until a flush meets ENOSPC.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { StatusCode } from '../../../protocol';
import {
  BookieClient,
  adminSaysReadOnly,
  fillUntilEnospc,
  registeredAs,
  startLedgerlineBookie,
} from '../../harness';
import { addUntilRefused, diskTestEntries, tmpfsBookieEnv } from './tmpfs-bookie-env';

const entries = diskTestEntries('flush-enospc');
const TMPFS_BYTES = 16 * 1024 * 1024;
const LEFT_FREE_BYTES = 1536 * 1024;
const IN_FLIGHT = 32;

const body = (entryId: bigint): Buffer => entries.body(1n, entryId);

describe('bookie > faults > a flush that meets a full ledger disk', () => {
  const env = tmpfsBookieEnv('bookie-flush-tmpfs-', TMPFS_BYTES);

  test('read-only right after the failed flush, not at the next periodic check; acknowledged entries read back', async () => {
    const ledgerDir = join(env.tmpfsPath, 'ledgers');
    mkdirSync(ledgerDir);
    const conf = await env.cluster.writeBookieConf(env.dirs.make('bookie-flush-enospc-'), {
      ledgerDirectories: ledgerDir,
      diskCheckInterval: 600000,
      flushInterval: 300,
      dbStorage_writeCacheMaxSizeMb: 4,
    });
    const bookie = env.track(await startLedgerlineBookie(conf.path, conf.port));
    await registeredAs(env.cluster.registrations, conf.bookieId, 'writable');
    const client = await BookieClient.connect(conf.port);

    fillUntilEnospc(join(env.tmpfsPath, 'filler'), LEFT_FREE_BYTES);
    const started = Date.now();
    const { acked, refused } = await addUntilRefused(client, entries, {
      ledgerId: 1n,
      inFlight: IN_FLIGHT,
      timeoutMs: 30000,
    });
    // Long before the periodic check (10 minutes) could have run.
    expect(StatusCode[refused ?? StatusCode.EOK]).toBe('EREADONLY');
    expect(Date.now() - started).toBeLessThan(30000);
    await registeredAs(env.cluster.registrations, conf.bookieId, 'readOnly');
    expect(await adminSaysReadOnly(conf.httpPort)).toBe(true);
    expect(acked.length).toBeGreaterThan(0);
    for (const entryId of acked) {
      const read = await client.readEntry(1n, entryId);
      expect(StatusCode[read.status]).toBe('EOK');
      expect(read.readResponse?.body?.equals(body(entryId))).toBe(true);
    }
    expect(bookie.running()).toBe(true);
    await client.close();
  });
});
