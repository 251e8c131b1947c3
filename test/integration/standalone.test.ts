/**
 * Goal: `ledgerline standalone` (what `npm start` runs) is a person's one-command broker: it is ready within
 * seconds and says where it listens; tenant public and namespace public/default exist; SIGTERM shuts it down
 * cleanly (exit 0, cursor positions flushed); a restart on the same data dir resumes every topic, subscription
 * and cursor position; a second process on the same data dir is refused clearly.
 * Method: the real built command as a child process on a temp --data-dir, free ports (bookie ports kept across
 * restarts), loopback only; observations through the admin REST API (Node's fetch) and WebSocket producers.
 */
import { TempDirs, eventually } from '../harness';
import {
  consume,
  http,
  produce,
  requireBuilt,
  startBrokerProcess,
  startStandalone,
} from './standalone-fixture';

const temp = new TempDirs();

beforeAll(() => requireBuilt());
afterAll(() => temp.removeAll());

describe('standalone > lifecycle', () => {
  it('starts in seconds, resumes topics, subscriptions and cursor positions after SIGTERM and a restart', async () => {
    const dataDir = temp.make('ledgerline-standalone-');
    const first = await startStandalone(dataDir);
    try {
      expect(first.startupMs).toBeLessThan(15_000);
      expect(first.stdout()).toMatch(/ledgerline standalone ready/);
      expect(first.stdout()).toContain(`${first.url}/admin/v2`);
      expect(first.stdout()).toMatch(/WebSocket ws:\/\/127\.0\.0\.1:\d+\/ws\/v2/);
      expect(first.stdout()).toMatch(/ensemble 1, write quorum 1, ack quorum 1/);
      const instanceId = /instance id ([0-9a-f-]{36}), new\)/.exec(first.stdout())?.[1];
      expect(instanceId).toBeDefined();
      expect((await http('GET', `${first.url}/admin/v2/namespaces/public`)).json).toEqual(['public/default']);

      await produce(
        first.url,
        'public/default/kept',
        ['m0', 'm1', 'm2'].map((payload) => ({ payload })),
      );
      const admin = `${first.url}/admin/v2/persistent/public/default/kept`;
      expect((await http('PUT', `${admin}/subscription/s`, { ledgerId: -1, entryId: -1 })).status).toBe(204);
      expect((await http('POST', `${admin}/subscription/s/skip/1`)).status).toBe(204);
      // Acknowledged through a consumer, faster than the cursor persists (1 mark-delete a second): the last
      // position reaches the store only through the flush at shutdown.
      expect((await http('PUT', `${admin}/subscription/acked`, { ledgerId: -1, entryId: -1 })).status).toBe(
        204,
      );
      expect(await consume(first.url, 'public/default/kept', 'acked', 3)).toEqual(['m0', 'm1', 'm2']);
      await eventually('the acks to be applied', async () => {
        const { subscriptions } = (await http('GET', `${admin}/stats`)).json as {
          subscriptions: Record<string, { msgBacklog: number }>;
        };
        return subscriptions.acked!.msgBacklog === 0 ? true : undefined;
      });

      const stoppedAt = Date.now();
      expect(await first.stop('SIGTERM')).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);

      const second = await startStandalone(dataDir);
      try {
        expect(second.stdout()).toContain(`instance id ${instanceId})`);
        const again = `${second.url}/admin/v2/persistent/public/default`;
        expect((await http('GET', again)).json).toContain('persistent://public/default/kept');
        expect(((await http('GET', `${again}/kept/subscriptions`)).json as string[]).sort()).toEqual([
          'acked',
          's',
        ]);
        const stats = (await http('GET', `${again}/kept/stats`)).json as {
          subscriptions: Record<string, { msgBacklog: number }>;
        };
        expect(stats.subscriptions.s!.msgBacklog).toBe(2);
        expect(stats.subscriptions.acked!.msgBacklog).toBe(0);
        expect((await http('GET', `${again}/kept/subscription/s/position/1`)).text).toBe('m1');
        // The topic takes new messages after the restart, and its message index goes on from 3.
        await produce(second.url, 'public/default/kept', [{ payload: 'm3' }]);
        const peeked = await http('GET', `${again}/kept/subscription/s/position/3`);
        expect(peeked.text).toBe('m3');
        expect(peeked.headers.get('x-pulsar-broker-entry-metadata-index')).toBe('3');
      } finally {
        expect(await second.stop('SIGINT')).toBe(0);
      }
    } finally {
      await first.stop('SIGKILL');
    }
  });

  it('after a SIGKILL, every acknowledged message is delivered after the restart, in publish order', async () => {
    const dataDir = temp.make('ledgerline-standalone-');
    const first = await startStandalone(dataDir);
    const sent = Array.from({ length: 20 }, (_, i) => `k${i}`);
    try {
      const admin = `${first.url}/admin/v2/persistent/public/default/killed`;
      expect((await http('PUT', admin)).status).toBe(204);
      expect((await http('PUT', `${admin}/subscription/s`, { ledgerId: -1, entryId: -1 })).status).toBe(204);
      await produce(
        first.url,
        'public/default/killed',
        sent.map((payload) => ({ payload })),
      );
    } finally {
      await first.stop('SIGKILL');
    }
    // Restarted without --bookie-port (default 3181): the bookie keeps the port of its first start, its identity.
    const second = await startBrokerProcess([
      'standalone',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--bind-address',
      '127.0.0.1',
    ]);
    try {
      expect(second.stdout()).not.toContain('127.0.0.1:3181');
      expect(await consume(second.url, 'public/default/killed', 's', sent.length)).toEqual(sent);
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('refuses a second standalone on a data dir in use, naming the problem', async () => {
    const dataDir = temp.make('ledgerline-standalone-');
    const running = await startStandalone(dataDir);
    try {
      const refused = startBrokerProcess([
        'standalone',
        '--data-dir',
        dataDir,
        '--port',
        '0',
        '--bookie-port',
        '0',
      ]);
      await expect(refused).rejects.toThrow(/in use/);
      expect((await http('GET', `${running.url}/admin/v2/clusters`)).json).toEqual(['standalone']);
    } finally {
      expect(await running.stop('SIGTERM')).toBe(0);
    }
  });

  it('runs three bookies with ensemble 3, write quorum 3, ack quorum 2', async () => {
    const running = await startStandalone(temp.make('ledgerline-standalone-'), ['--bookies', '3']);
    try {
      expect(running.stdout()).toMatch(/bookies: (127\.0\.0\.1:\d+, ){2}127\.0\.0\.1:\d+ /);
      expect(running.stdout()).toMatch(/ensemble 3, write quorum 3, ack quorum 2/);
      await produce(running.url, 'public/default/replicated', [{ payload: 'r0' }, { payload: 'r1' }]);
      const internal = (
        await http('GET', `${running.url}/admin/v2/persistent/public/default/replicated/internalStats`)
      ).json as { numberOfEntries: number };
      expect(internal.numberOfEntries).toBe(2);
    } finally {
      expect(await running.stop('SIGTERM')).toBe(0);
    }
  });

  it('bookieThreads=true: three bookies in worker threads replicate; after a SIGKILL every acknowledged message is delivered', async () => {
    const dataDir = temp.make('ledgerline-standalone-');
    const env = { bookieThreads: 'true' };
    const sent = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const first = await startStandalone(dataDir, ['--bookies', '3'], { env });
    try {
      expect(first.stdout()).toMatch(/ensemble 3, write quorum 3, ack quorum 2/);
      const admin = `${first.url}/admin/v2/persistent/public/default/threads`;
      expect((await http('PUT', admin)).status).toBe(204);
      expect((await http('PUT', `${admin}/subscription/s`, { ledgerId: -1, entryId: -1 })).status).toBe(204);
      await produce(
        first.url,
        'public/default/threads',
        sent.map((payload) => ({ payload })),
      );
    } finally {
      await first.stop('SIGKILL');
    }
    const second = await startStandalone(dataDir, ['--bookies', '3'], { env });
    try {
      expect(await consume(second.url, 'public/default/threads', 's', sent.length)).toEqual(sent);
    } finally {
      // A clean stop ends the bookie threads too (the process exits 0, nothing left running).
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('fails at once with a clear message on a bad setting', async () => {
    const bad = startBrokerProcess(['standalone', '--data-dir', temp.make(), '--bookies', 'many']);
    await expect(bad).rejects.toThrow(/numBookies="many": expected an integer/);
  });
});
