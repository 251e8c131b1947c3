/**
 * Goal: Pulsar's admin REST subset (/admin/v2) behaves as pulsar-admin and curl users expect: tenants,
 * namespaces with retention and deduplication, topics, subscriptions with their cursor positions readable
 * (stats, internalStats) and settable (skip, skip_all, resetcursor), peek with Pulsar's X-Pulsar-* headers, and
 * Pulsar's `{"reason"}` errors with its HTTP statuses — bad input never takes the broker down.
 * Method: one real `ledgerline standalone` process (built command, one in-process bookie, embedded RocksDB
 * metadata, loopback, free ports) for the file; requests with Node's fetch, messages published through real
 * WebSocket producers (Pulsar's v2 API, the `ws` package).
 */
import WebSocket from 'ws';
import { messageIdFromBase64 } from '../../broker';
import { TempDirs, eventually } from '../harness';
import { consume, http, produce, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const temp = new TempDirs();
let broker: BrokerProcess;
let admin: string;

beforeAll(async () => {
  requireBuilt();
  broker = await startStandalone(temp.make('ledgerline-admin-'));
  admin = `${broker.url}/admin/v2`;
});

afterAll(async () => {
  await broker?.stop('SIGTERM');
  temp.removeAll();
});

/** A producer's base64 message id as the admin API writes it: ledgerId exact (a string: it is near 2^63). */
function messageIdOf(base64: string): { ledgerId: string; entryId: number } {
  const id = messageIdFromBase64(base64);
  return { ledgerId: id.ledgerId.toString(), entryId: Number(id.entryId) };
}

async function openConsumer(topicPath: string, subscription: string): Promise<WebSocket> {
  const ws = new WebSocket(
    `${broker.url.replace('http', 'ws')}/ws/v2/consumer/persistent/${topicPath}/${subscription}?subscriptionType=Shared`,
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

describe('broker > admin REST > clusters, tenants, namespaces', () => {
  it('lists cluster standalone, tenant public and namespace public/default on a fresh standalone', async () => {
    expect((await http('GET', `${admin}/clusters`)).json).toEqual(['standalone']);
    expect((await http('GET', `${admin}/tenants`)).json).toContain('public');
    expect((await http('GET', `${admin}/namespaces/public`)).json).toContain('public/default');
  });

  it('with deduplication on, a WebSocket resend of a stored sequenceId is acknowledged but not stored again', async () => {
    expect((await http('PUT', `${admin}/namespaces/public/dedup`)).status).toBe(204);
    expect((await http('POST', `${admin}/namespaces/public/dedup/deduplication`, true)).status).toBe(204);
    const topic = `${admin}/persistent/public/dedup/once`;
    expect((await http('PUT', `${topic}/subscription/all`, { ledgerId: -1, entryId: -1 })).status).toBe(204);
    // A producer sends 1 and 2; after a reconnect under the same name it resends 2 and 1 (not knowing they were
    // stored), then sends 3. Every send is acknowledged...
    const producerName = 'dedup-producer';
    const first = await produce(
      broker.url,
      'public/dedup/once',
      [
        { payload: 'a', sequenceId: 1 },
        { payload: 'b', sequenceId: 2 },
      ],
      { producerName },
    );
    const second = await produce(
      broker.url,
      'public/dedup/once',
      [
        { payload: 'b again', sequenceId: 2 },
        { payload: 'a again', sequenceId: 1 },
        { payload: 'c', sequenceId: 3 },
      ],
      { producerName },
    );
    const ids = [...first, ...second];
    expect(ids).toHaveLength(5);
    // ...but stored once: the subscription from the start sees a, b, c.
    expect(await consume(broker.url, 'public/dedup/once', 'all', 3)).toEqual(['a', 'b', 'c']);
    const stats = (await http('GET', `${topic}/internalStats`)).json as { numberOfEntries: number };
    expect(stats.numberOfEntries).toBe(3);
  });

  it('creates, reads, updates and deletes a tenant and its namespaces with retention, deduplication and quotas', async () => {
    const info = { adminRoles: ['ops'], allowedClusters: ['standalone'] };
    expect((await http('PUT', `${admin}/tenants/acme`, info)).status).toBe(204);
    expect((await http('GET', `${admin}/tenants/acme`)).json).toEqual(info);
    const again = await http('PUT', `${admin}/tenants/acme`, info);
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ reason: expect.any(String) });
    expect((await http('POST', `${admin}/tenants/acme`, { ...info, adminRoles: [] })).status).toBe(204);
    expect((await http('GET', `${admin}/tenants/acme`)).json).toEqual({ ...info, adminRoles: [] });

    expect((await http('PUT', `${admin}/namespaces/acme/orders`)).status).toBe(204);
    expect((await http('PUT', `${admin}/namespaces/acme/orders`)).status).toBe(409);
    expect((await http('GET', `${admin}/namespaces/acme`)).json).toEqual(['acme/orders']);
    // A tenant with namespaces is not deleted.
    expect((await http('DELETE', `${admin}/tenants/acme`)).status).toBe(409);

    // Unset retention: Pulsar's null, sent as 204 No Content.
    expect((await http('GET', `${admin}/namespaces/acme/orders/retention`)).status).toBe(204);
    const retention = { retentionTimeInMinutes: 60, retentionSizeInMB: 100 };
    expect((await http('POST', `${admin}/namespaces/acme/orders/retention`, retention)).status).toBe(204);
    expect((await http('GET', `${admin}/namespaces/acme/orders/retention`)).json).toEqual(retention);
    expect((await http('GET', `${admin}/namespaces/acme/orders/deduplication`)).status).toBe(204);
    expect((await http('POST', `${admin}/namespaces/acme/orders/deduplication`, true)).status).toBe(204);
    expect((await http('GET', `${admin}/namespaces/acme/orders/deduplication`)).json).toBe(true);
    const policies = (await http('GET', `${admin}/namespaces/acme/orders`)).json as Record<string, unknown>;
    expect(policies).toMatchObject({ retention_policies: retention, deduplicationEnabled: true });

    // A namespace created with a Policies body starts with them; a bad one is refused and nothing is created.
    const quota = { limitSize: 1024, limitTime: -1, policy: 'producer_exception' };
    const initial = {
      retention_policies: { retentionTimeInMinutes: 5, retentionSizeInMB: -1 },
      deduplicationEnabled: false,
      backlog_quota_map: { destination_storage: quota },
    };
    expect((await http('PUT', `${admin}/namespaces/acme/billing`, initial)).status).toBe(204);
    expect((await http('GET', `${admin}/namespaces/acme/billing`)).json).toMatchObject(initial);
    expect((await http('GET', `${admin}/namespaces/acme/billing/deduplication`)).json).toBe(false);
    const bad = await http('PUT', `${admin}/namespaces/acme/refused`, {
      retention_policies: { retentionSizeInMB: 1 },
    });
    expect(bad.status).toBe(400);
    expect((await http('GET', `${admin}/namespaces/acme/refused`)).status).toBe(404);
    expect((await http('DELETE', `${admin}/namespaces/acme/billing`)).status).toBe(204);

    expect((await http('DELETE', `${admin}/namespaces/acme/orders`)).status).toBe(204);
    expect((await http('GET', `${admin}/namespaces/acme/orders`)).status).toBe(404);
    expect((await http('DELETE', `${admin}/tenants/acme`)).status).toBe(204);
    expect((await http('GET', `${admin}/tenants/acme`)).status).toBe(404);
  });
});

describe('broker > admin REST > namespace backlog quotas', () => {
  it('sets, reads and removes a backlog quota, refuses bad ones, and enforces it on producers', async () => {
    const ns = `${admin}/namespaces/public/quota`;
    expect((await http('PUT', ns)).status).toBe(204);
    expect((await http('GET', `${ns}/backlogQuotaMap`)).json).toEqual({});
    expect((await http('GET', `${ns}/backlogQuota`)).status).toBe(204);

    const quota = { limitSize: 1, limitTime: -1, policy: 'producer_exception' };
    expect(
      (await http('POST', `${ns}/backlogQuota?backlogQuotaType=destination_storage`, quota)).status,
    ).toBe(204);
    expect((await http('GET', `${ns}/backlogQuotaMap`)).json).toEqual({ destination_storage: quota });
    expect((await http('GET', `${ns}/backlogQuota`)).json).toEqual(quota);
    expect((await http('GET', ns)).json).toMatchObject({ backlog_quota_map: { destination_storage: quota } });

    // Bad quotas and types are 400 with a reason; a namespace that does not exist is 404.
    for (const bad of [
      { limitSize: 1 },
      { ...quota, policy: 'drop_everything' },
      { ...quota, limitSize: -2 },
    ]) {
      const refused = await http('POST', `${ns}/backlogQuota`, bad);
      expect(refused.status).toBe(400);
      expect(refused.json).toEqual({ reason: expect.stringContaining('backlog quota') });
    }
    expect((await http('POST', `${ns}/backlogQuota?backlogQuotaType=age`, quota)).status).toBe(400);
    expect((await http('POST', `${admin}/namespaces/public/nowhere/backlogQuota`, quota)).status).toBe(404);
    expect((await http('GET', `${admin}/namespaces/public/nowhere/backlogQuotaMap`)).status).toBe(404);

    // Enforced: with a subscription behind, a producer is refused once the backlog is over 1 byte.
    const topic = `${admin}/persistent/public/quota/held`;
    expect((await http('PUT', `${topic}/subscription/behind`, { ledgerId: -1, entryId: -1 })).status).toBe(
      204,
    );
    await produce(broker.url, 'public/quota/held', [{ payload: 'a' }, { payload: 'b' }]);
    const refusal = await eventually('producer refused over the quota', () =>
      produce(broker.url, 'public/quota/held', [{ payload: 'c' }]).then(
        () => undefined,
        (error: Error) => error.message,
      ),
    );
    // 503 before the upgrade (ProducerBlockedQuotaExceededError, as Pulsar's WebSocket servlet answers it), or the
    // send refused if the check came later.
    if (/HTTP \d{3}/.test(refusal!)) expect(refusal).toMatch(/HTTP 503/);
    else expect(refusal).toMatch(/quota/);

    // Removed: the map is empty again and producers are accepted.
    expect((await http('DELETE', `${ns}/backlogQuota`)).status).toBe(204);
    expect((await http('GET', `${ns}/backlogQuotaMap`)).json).toEqual({});
    expect((await http('GET', `${ns}/backlogQuota`)).status).toBe(204);
    await eventually('producer accepted without the quota', () =>
      produce(broker.url, 'public/quota/held', [{ payload: 'd' }]).then(
        () => true,
        () => undefined,
      ),
    );
  });

  it('a message_age quota refuses producers once the oldest unacked message is too old, or expires it', async () => {
    const ns = `${admin}/namespaces/public/aged`;
    expect((await http('PUT', ns)).status).toBe(204);
    const held = { limitSize: -1, limitTime: 1, policy: 'producer_exception' };
    expect((await http('POST', `${ns}/backlogQuota?backlogQuotaType=message_age`, held)).status).toBe(204);
    expect((await http('GET', `${ns}/backlogQuotaMap`)).json).toEqual({ message_age: held });
    expect((await http('GET', `${ns}/backlogQuota?backlogQuotaType=message_age`)).json).toEqual(held);
    expect((await http('GET', `${ns}/backlogQuota`)).status).toBe(204); // no size quota

    // A subscription behind: fine while its oldest message is young, refused once it is older than 1 s.
    const topic = `${admin}/persistent/public/aged/held`;
    expect((await http('PUT', `${topic}/subscription/behind`, { ledgerId: -1, entryId: -1 })).status).toBe(
      204,
    );
    await produce(broker.url, 'public/aged/held', [{ payload: 'a' }]);
    await produce(broker.url, 'public/aged/held', [{ payload: 'b' }]);
    const refusal = await eventually('producer refused past the age', () =>
      produce(broker.url, 'public/aged/held', [{ payload: 'c' }]).then(
        () => undefined,
        (error: Error) => error.message,
      ),
    );
    if (/HTTP \d{3}/.test(refusal!)) expect(refusal).toMatch(/HTTP 503/);
    else expect(refusal).toMatch(/older than the quota of 1 s/);

    // consumer_backlog_eviction instead: the old messages are acknowledged for the subscription, producers go on.
    const evict = { limitSize: -1, limitTime: 1, policy: 'consumer_backlog_eviction' };
    expect((await http('POST', `${ns}/backlogQuota?backlogQuotaType=message_age`, evict)).status).toBe(204);
    await eventually('producer accepted again', () =>
      produce(broker.url, 'public/aged/held', [{ payload: 'fresh' }]).then(
        () => true,
        () => undefined,
      ),
    );
    const backlog = async (): Promise<number> => {
      const stats = (await http('GET', `${topic}/stats`)).json as {
        subscriptions: Record<string, { msgBacklog: number }>;
      };
      return stats.subscriptions.behind!.msgBacklog;
    };
    // Everything older than a second goes; what is left is younger (the 'fresh' messages, if any yet).
    await eventually('old messages expired', async () => {
      await produce(broker.url, 'public/aged/held', [{ payload: 'tick' }]);
      const peeked = await http('GET', `${topic}/subscription/behind/position/1`);
      return peeked.status === 200 && !['a', 'b', 'c'].includes(peeked.text) ? true : undefined;
    });
    expect(await backlog()).toBeGreaterThan(0);
    expect((await http('DELETE', `${ns}/backlogQuota?backlogQuotaType=message_age`)).status).toBe(204);
    expect((await http('GET', `${ns}/backlogQuotaMap`)).json).toEqual({});
  });
});

describe('broker > admin REST > topics', () => {
  it('creates, lists, describes, terminates and deletes a topic', async () => {
    const base = `${admin}/persistent/public/default`;
    expect((await http('PUT', `${base}/orders`)).status).toBe(204);
    expect((await http('PUT', `${base}/orders`)).status).toBe(409);
    expect((await http('GET', `${base}/orders/partitions`)).json).toEqual({ partitions: 0 });
    expect((await http('GET', `${base}/not-yet/partitions`)).json).toEqual({ partitions: 0 });
    expect((await http('GET', base)).json).toContain('persistent://public/default/orders');
    expect((await http('GET', `${admin}/namespaces/public/default/topics`)).json).toContain(
      'persistent://public/default/orders',
    );

    const ids = await produce(broker.url, 'public/default/orders', [{ payload: 'a' }, { payload: 'b' }]);
    const last = messageIdOf(ids[1]!);
    expect((await http('GET', `${base}/orders/lastMessageId`)).json).toEqual({
      ledgerId: last.ledgerId,
      entryId: last.entryId,
      partitionIndex: -1,
    });
    const stats = (await http('GET', `${base}/orders/stats`)).json as Record<string, unknown>;
    expect(stats).toMatchObject({ msgInCounter: 2, publishers: expect.any(Array), subscriptions: {} });
    const internal = (await http('GET', `${base}/orders/internalStats`)).json as Record<string, unknown>;
    expect(internal).toMatchObject({
      numberOfEntries: 2,
      lastConfirmedEntry: `${last.ledgerId}:${last.entryId}`,
      cursors: {},
    });
    // The ledger ids in the list are exact JSON integers too (near 2^63: never through a JS number).
    const ledgerIds = (internal.ledgers as Array<{ ledgerId: unknown }>).map((ledger) => ledger.ledgerId);
    expect(ledgerIds[ledgerIds.length - 1]).toBe(last.ledgerId);

    const terminated = await http('POST', `${base}/orders/terminate`);
    expect(terminated.status).toBe(200);
    expect(terminated.json).toMatchObject({ ledgerId: last.ledgerId, entryId: last.entryId });
    await expect(produce(broker.url, 'public/default/orders', [{ payload: 'c' }])).rejects.toThrow();

    // The producers' sessions are gone once stats list no publisher; then the topic is not busy.
    await eventually('the producers to be detached', async () => {
      const { publishers } = (await http('GET', `${base}/orders/stats`)).json as { publishers: unknown[] };
      return publishers.length === 0 ? true : undefined;
    });
    expect((await http('DELETE', `${base}/orders`)).status).toBe(204);
    expect((await http('GET', `${base}/orders/stats`)).status).toBe(404);
    expect((await http('GET', base)).json).not.toContain('persistent://public/default/orders');
  });

  it('refuses to delete a topic with a connected consumer unless forced', async () => {
    const base = `${admin}/persistent/public/default`;
    await produce(broker.url, 'public/default/busy', [{ payload: 'x' }]);
    const consumer = await openConsumer('public/default/busy', 'sub');
    const closed = new Promise<number>((resolve) => consumer.once('close', (code) => resolve(code)));
    try {
      const refused = await http('DELETE', `${base}/busy`);
      expect(refused.status).toBe(412);
      expect((refused.json as { reason: string }).reason).toMatch(/busy|active|consumer|subscription/i);
      const subRefused = await http('DELETE', `${base}/busy/subscription/sub`);
      expect(subRefused.status).toBe(412);
      expect((await http('DELETE', `${base}/busy?force=true`)).status).toBe(204);
      expect(await closed).toBeGreaterThanOrEqual(1000);
    } finally {
      consumer.terminate();
    }
  });
});

describe('broker > admin REST > subscriptions and cursor positions', () => {
  const base = `/persistent/public/default/cursors`;
  let ids: string[];

  beforeAll(async () => {
    ids = await produce(
      broker.url,
      'public/default/cursors',
      [0, 1, 2, 3, 4].map((i) => ({ payload: `m${i}`, properties: { n: String(i) }, key: `k${i}` })),
    );
  });

  const backlog = async (sub: string): Promise<number> => {
    const stats = (await http('GET', `${admin}${base}/stats`)).json as {
      subscriptions: Record<string, { msgBacklog: number }>;
    };
    return stats.subscriptions[sub]!.msgBacklog;
  };
  const peek = (sub: string, n: number) => http('GET', `${admin}${base}/subscription/${sub}/position/${n}`);

  it('creates subscriptions at earliest and at latest (the default)', async () => {
    expect(
      (await http('PUT', `${admin}${base}/subscription/from-start`, { ledgerId: -1, entryId: -1 })).status,
    ).toBe(204);
    expect((await http('PUT', `${admin}${base}/subscription/from-now`)).status).toBe(204);
    expect((await http('PUT', `${admin}${base}/subscription/from-now`)).status).toBe(409);
    expect(((await http('GET', `${admin}${base}/subscriptions`)).json as string[]).sort()).toEqual([
      'from-now',
      'from-start',
    ]);
    expect(await backlog('from-start')).toBe(5);
    expect(await backlog('from-now')).toBe(0);
  });

  it('peeks the nth unacknowledged message with its metadata in X-Pulsar-* headers, without consuming it', async () => {
    const first = await peek('from-start', 1);
    expect(first.status).toBe(200);
    expect(first.text).toBe('m0');
    const id = messageIdOf(ids[0]!);
    expect(first.headers.get('x-pulsar-message-id')).toBe(`${id.ledgerId}:${id.entryId}`);
    expect(JSON.parse(first.headers.get('x-pulsar-property')!)).toEqual({ n: '0' });
    expect(first.headers.get('x-pulsar-property-n')).toBe('0');
    expect(first.headers.get('x-pulsar-partition-key')).toBe('k0');
    expect(first.headers.get('x-pulsar-producer-name')).toEqual(expect.any(String));
    expect(first.headers.get('x-pulsar-sequence-id')).toMatch(/^\d+$/);
    expect(Date.parse(first.headers.get('x-pulsar-publish-time')!)).toBeGreaterThan(Date.now() - 60_000);
    expect(first.headers.get('x-pulsar-broker-entry-metadata-index')).toBe('0');
    const fifth = await peek('from-start', 5);
    expect(fifth.text).toBe('m4');
    expect(fifth.headers.get('x-pulsar-broker-entry-metadata-index')).toBe('4');
    expect((await peek('from-start', 6)).status).toBe(404);
    expect(await backlog('from-start')).toBe(5);
  });

  it('moves the cursor: skip, resetcursor by message id and by time, skip_all', async () => {
    expect((await http('POST', `${admin}${base}/subscription/from-start/skip/2`)).status).toBe(204);
    expect(await backlog('from-start')).toBe(3);
    expect((await peek('from-start', 1)).text).toBe('m2');

    const second = messageIdOf(ids[1]!);
    expect(
      (
        await http(
          'POST',
          `${admin}${base}/subscription/from-start/resetcursor`,
          `{"ledgerId":${second.ledgerId},"entryId":${second.entryId},"partitionIndex":-1}`,
        )
      ).status,
    ).toBe(204);
    expect(await backlog('from-start')).toBe(4);
    expect((await peek('from-start', 1)).text).toBe('m1');
    expect(
      (
        await http(
          'POST',
          `${admin}${base}/subscription/from-start/resetcursor`,
          `{"ledgerId":${second.ledgerId},"entryId":${second.entryId},"isExcluded":true}`,
        )
      ).status,
    ).toBe(204);
    expect((await peek('from-start', 1)).text).toBe('m2');

    expect((await http('POST', `${admin}${base}/subscription/from-now/resetcursor/0`)).status).toBe(204);
    expect(await backlog('from-now')).toBe(5);
    expect((await http('POST', `${admin}${base}/subscription/from-now/skip_all`)).status).toBe(204);
    expect(await backlog('from-now')).toBe(0);
    expect((await peek('from-now', 1)).status).toBe(404);

    // The cursor positions are what internalStats shows (the cursor/offset storage service).
    const internal = (await http('GET', `${admin}${base}/internalStats`)).json as {
      cursors: Record<string, { markDeletePosition: string; readPosition: string }>;
    };
    const fourth = messageIdOf(ids[4]!);
    expect(internal.cursors['from-now']!.markDeletePosition).toBe(`${fourth.ledgerId}:${fourth.entryId}`);
    expect(internal.cursors['from-start']!.markDeletePosition).toBe(`${second.ledgerId}:${second.entryId}`);
    // The rest of Pulsar's cursor fields come from the cursor itself, not placeholders.
    const full = internal as unknown as {
      lastLedgerCreatedTimestamp: string;
      waitingCursorsCount: number;
      cursors: Record<string, Record<string, unknown>>;
    };
    const now = Date.now();
    expect(Date.parse(full.lastLedgerCreatedTimestamp)).toBeGreaterThan(now - 60_000);
    expect(Date.parse(full.lastLedgerCreatedTimestamp)).toBeLessThanOrEqual(now);
    expect(full.waitingCursorsCount).toBe(0);
    for (const [name, sinceFirstNotAcked] of [
      ['from-now', 0],
      ['from-start', 1], // mark-delete at m1, read position m2: Pulsar counts (markDelete, readPosition]
    ] as const) {
      const cursor = full.cursors[name]!;
      expect(cursor).toMatchObject({
        state: 'Open',
        waitingReadOp: false,
        numberOfEntriesSinceFirstNotAckedMessage: sinceFirstNotAcked,
      });
      // Durable cursors persist their positions to a ledger of their own: its id (a JSON integer, read exactly
      // as a string when long) and last entry.
      expect(BigInt(cursor.cursorLedger as string | number)).toBeGreaterThanOrEqual(0n);
      expect(cursor.cursorLedgerLastEntry as number).toBeGreaterThanOrEqual(0);
      expect(Date.parse(cursor.lastLedgerSwitchTimestamp as string)).toBeLessThanOrEqual(now);
    }
  });

  it('creates the topic of a new subscription when it does not exist (allowAutoTopicCreation)', async () => {
    expect((await http('PUT', `${admin}/persistent/public/default/later/subscription/early`)).status).toBe(
      204,
    );
    expect((await http('GET', `${admin}/persistent/public/default/later/subscriptions`)).json).toEqual([
      'early',
    ]);
    expect((await http('PUT', `${admin}/persistent/nobody/nothing/later/subscription/early`)).status).toBe(
      404,
    );
  });

  it('resets a cursor by publish time to the first message published at or after it', async () => {
    const topic = `${admin}/persistent/public/default/by-time`;
    await produce(broker.url, 'public/default/by-time', [{ payload: 'old0' }, { payload: 'old1' }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const boundary = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await produce(broker.url, 'public/default/by-time', [{ payload: 'new0' }, { payload: 'new1' }]);
    expect((await http('PUT', `${topic}/subscription/replay`)).status).toBe(204);
    expect((await http('POST', `${topic}/subscription/replay/resetcursor/${boundary}`)).status).toBe(204);
    expect((await http('GET', `${topic}/subscription/replay/position/1`)).text).toBe('new0');
    const stats = (await http('GET', `${topic}/stats`)).json as {
      subscriptions: Record<string, { msgBacklog: number }>;
    };
    expect(stats.subscriptions.replay!.msgBacklog).toBe(2);
  });

  it('deletes a subscription', async () => {
    expect((await http('DELETE', `${admin}${base}/subscription/from-now`)).status).toBe(204);
    expect((await http('DELETE', `${admin}${base}/subscription/from-now`)).status).toBe(404);
    expect((await http('GET', `${admin}${base}/subscriptions`)).json).toEqual(['from-start']);
  });
});

describe('broker > admin REST > bad requests', () => {
  it.each([
    ['PUT', '/tenants/bad-json', '{"adminRoles": [', 400],
    ['PUT', '/tenants/bad-shape', '{"adminRoles": "ops"}', 400],
    ['PUT', '/tenants/bad%20name!', '{}', 412],
    ['POST', '/namespaces/public/default/retention', '{"retentionTimeInMinutes":"x"}', 400],
    ['POST', '/namespaces/public/default/deduplication', '"yes"', 400],
    ['GET', '/tenants/nobody', undefined, 404],
    ['PUT', '/namespaces/nobody/ns', undefined, 404],
    ['GET', '/persistent/public/nowhere', undefined, 404],
    ['GET', '/persistent/public/default/never-created/stats', undefined, 404],
    ['POST', '/persistent/public/default/cursors/subscription/from-start/skip/many', undefined, 400],
    ['GET', '/persistent/public/default/cursors/subscription/from-start/position/0', undefined, 400],
    ['GET', '/persistent/public/default/cursors/subscription/nobody/position/1', undefined, 404],
    ['POST', '/persistent/public/default/cursors/subscription/from-start/resetcursor', '{"ledgerId":1}', 400],
    ['GET', '/no/such/endpoint', undefined, 404],
  ])('%s %s %s -> %d {"reason"}', async (method, path, body, status) => {
    const reply = await http(method, `${admin}${path}`, body);
    expect(reply.status).toBe(status);
    expect(reply.json).toEqual({ reason: expect.any(String) });
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const huge = JSON.stringify({ adminRoles: ['x'.repeat(200_000)] });
    const reply = await http('PUT', `${admin}/tenants/huge`, huge);
    expect(reply.status).toBe(413);
    expect((await http('GET', `${admin}/clusters`)).status).toBe(200);
    expect((await http('GET', `${admin}/tenants/huge`)).status).toBe(404);
  });

  it('answers an HTTP lookup with this broker, and 404 for a namespace that does not exist', async () => {
    const lookup = await http('GET', `${broker.url}/lookup/v2/topic/persistent/public/default/anything`);
    expect(lookup.json).toMatchObject({ httpUrl: broker.url });
    expect((await http('GET', `${broker.url}/lookup/v2/topic/persistent/public/nowhere/x`)).status).toBe(404);
  });

  it('serves /metrics in Prometheus text format', async () => {
    const reply = await http('GET', `${broker.url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('pulsar_in_messages_total');
  });
});
