/**
 * Goal: `ledgerline broker --conf broker.conf` runs the broker alone against etcd and separately started bookies
 * (how it runs on more than one machine): it creates cluster data, tenant public and namespace public/default,
 * serves the admin API and the WebSocket API, and SIGTERM closes it cleanly; a second broker process started on
 * the same metadata later sees what the first stored.
 * Method: the harness's real etcd and two real `ledgerline bookie` processes (BookieCluster); the built
 * `ledgerline broker` command as a child process with a broker.conf on loopback and a free port.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BookieCluster, TempDirs, requireBuiltBookie } from '../harness';
import { http, produce, requireBuilt, startBrokerProcess } from './standalone-fixture';

const temp = new TempDirs();
let cluster: BookieCluster;

beforeAll(async () => {
  requireBuilt();
  requireBuiltBookie();
  cluster = await BookieCluster.start({ bookies: 2 });
});

afterAll(async () => {
  await cluster?.close();
  temp.removeAll();
});

function brokerConf(settings: Record<string, string | number>): string {
  const path = join(temp.make('ledgerline-broker-'), 'broker.conf');
  writeFileSync(
    path,
    Object.entries(settings)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  return path;
}

describe('broker > command against etcd and bookie processes', () => {
  it('serves admin and WebSocket clients, and a second broker process resumes what the first stored', async () => {
    const conf = brokerConf({
      metadataServiceUri: cluster.metadataServiceUri,
      webServicePort: 0,
      bindAddress: '127.0.0.1',
      managedLedgerDefaultEnsembleSize: 2,
      managedLedgerDefaultWriteQuorum: 2,
      managedLedgerDefaultAckQuorum: 2,
    });
    const first = await startBrokerProcess(['broker', '--conf', conf]);
    try {
      expect(first.stdout()).toMatch(/broker ready: http:\/\/127\.0\.0\.1:\d+/);
      expect((await http('GET', `${first.url}/admin/v2/clusters`)).json).toEqual(['standalone']);
      expect((await http('GET', `${first.url}/admin/v2/namespaces/public`)).json).toEqual(['public/default']);
      await produce(first.url, 'public/default/across', [{ payload: 'a0' }, { payload: 'a1' }]);
      const topic = `${first.url}/admin/v2/persistent/public/default/across`;
      expect((await http('PUT', `${topic}/subscription/s`, { ledgerId: -1, entryId: -1 })).status).toBe(204);
    } finally {
      expect(await first.stop('SIGTERM')).toBe(0);
    }

    const second = await startBrokerProcess(['broker', '--conf', conf]);
    try {
      const topic = `${second.url}/admin/v2/persistent/public/default/across`;
      expect((await http('GET', `${topic}/subscriptions`)).json).toEqual(['s']);
      expect((await http('GET', `${topic}/subscription/s/position/2`)).text).toBe('a1');
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('refuses to start on a cluster that is not initialized', async () => {
    const conf = brokerConf({
      metadataServiceUri: cluster.metadataServiceUri.replace(/\/ledgers$/, '/nowhere'),
      webServicePort: 0,
      bindAddress: '127.0.0.1',
    });
    await expect(startBrokerProcess(['broker', '--conf', conf])).rejects.toThrow(/not initialized/);
  });
});
