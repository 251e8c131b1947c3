/**
 * Goal: a whole bookie (`ledgerline bookie`) whose index disk (indexDirectories, apart from the ledger disk) fills
 * up turns read-only — adds refused with EREADONLY, the registration moved to bookies/readonly — although its
 * ledger disk has room, since no flush can commit entry locations to a full index; acknowledged entries are still
 * read back; once the index disk has room again the bookie turns writable and takes adds.
 *
 * Method: the index directory is a real 32 MiB tmpfs mounted for this test (root needed); the ledger directory and
 * the journal stay on the ordinary disk. A filler file takes the tmpfs to ENOSPC; deleting it frees it. The disk
 * is checked every 200 ms. The test watches the registration in a real etcd and the admin API.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StatusCode } from '../../../protocol';
import {
  BookieClient,
  adminSaysReadOnly,
  eventually,
  fillUntilEnospc,
  registeredAs,
  startLedgerlineBookie,
} from '../../harness';
import { diskTestEntries, tmpfsBookieEnv } from './tmpfs-bookie-env';

const { masterKey: KEY, body } = diskTestEntries('index-disk-full');
const TMPFS_BYTES = 32 * 1024 * 1024;

describe('bookie > faults > a full index disk (tmpfs)', () => {
  const env = tmpfsBookieEnv('bookie-index-tmpfs-', TMPFS_BYTES);

  test('index disk full: read-only with reads served; freed: writable again', async () => {
    const indexDir = join(env.tmpfsPath, 'index');
    mkdirSync(indexDir);
    const conf = await env.cluster.writeBookieConf(env.dirs.make('bookie-index-full-'), {
      indexDirectories: indexDir,
      diskCheckInterval: 200,
    });
    const { port, httpPort, bookieId } = conf;
    const registered = (as: 'writable' | 'readOnly'): Promise<void> =>
      registeredAs(env.cluster.registrations, bookieId, as);

    const bookie = env.track(await startLedgerlineBookie(conf.path, port));
    await registered('writable');
    const client = await BookieClient.connect(port);
    const add = async (ledgerId: bigint, entryId: bigint): Promise<StatusCode> =>
      (await client.addEntry({ ledgerId, entryId, masterKey: KEY, body: body(ledgerId, entryId) })).status;
    for (let entryId = 0n; entryId < 10n; entryId++) expect(StatusCode[await add(1n, entryId)]).toBe('EOK');

    const filler = join(env.tmpfsPath, 'filler');
    fillUntilEnospc(filler);
    await registered('readOnly');
    expect(await adminSaysReadOnly(httpPort)).toBe(true);
    expect(StatusCode[await add(1n, 10n)]).toBe('EREADONLY');
    for (let entryId = 0n; entryId < 10n; entryId++) {
      const read = await client.readEntry(1n, entryId);
      expect(StatusCode[read.status]).toBe('EOK');
      expect(read.readResponse?.body).toEqual(body(1n, entryId));
    }
    expect(bookie.running()).toBe(true);

    unlinkSync(filler);
    await registered('writable');
    const status = await eventually('an add to be acknowledged after the index disk was freed', async () => {
      const answer = await add(1n, 10n);
      return answer === StatusCode.EREADONLY ? undefined : answer;
    });
    expect(StatusCode[status]).toBe('EOK');
    await client.close();
  });
});
