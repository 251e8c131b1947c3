/**
 * Goal: partitioned topics as a Pulsar user sees them — created, read, grown and deleted through the admin REST
 * API with Pulsar's statuses; each partition an ordinary topic listed on its own.
 * Method: one real `ledgerline standalone` process (built command, one in-process bookie, embedded RocksDB
 * metadata, loopback, free ports) for the file; requests with Node's fetch, messages through real WebSocket
 * producers and consumers (Pulsar's v2 API, the `ws` package).
 */
import { TempDirs } from '../harness';
import { http, produce, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const temp = new TempDirs();
let broker: BrokerProcess;
let topics: string;

beforeAll(async () => {
  requireBuilt();
  broker = await startStandalone(temp.make('ledgerline-partitioned-'));
  topics = `${broker.url}/admin/v2/persistent/public/default`;
});

afterAll(async () => {
  await broker?.stop('SIGTERM');
  temp.removeAll();
});

let seq = 0;
function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

describe('broker > partitioned topics > admin REST', () => {
  it('creates a partitioned topic whose partitions are topics listed one by one, grows it, deletes it', async () => {
    const name = uniqueName('orders');
    const full = `persistent://public/default/${name}`;
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 0 });
    expect((await http('PUT', `${topics}/${name}/partitions`, 3)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 3 });
    expect((await http('GET', `${topics}/partitioned`)).json).toContain(full);
    const listed = (await http('GET', topics)).json as string[];
    expect(listed.filter((t) => t.startsWith(`${full}-partition-`))).toEqual([
      `${full}-partition-0`,
      `${full}-partition-1`,
      `${full}-partition-2`,
    ]);
    expect(listed).not.toContain(full);
    expect((await http('GET', `${topics}/${name}-partition-1/stats`)).status).toBe(200);

    expect((await http('POST', `${topics}/${name}/partitions`, 5)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 5 });
    expect((await http('GET', `${topics}/${name}-partition-4/stats`)).status).toBe(200);

    expect((await http('DELETE', `${topics}/${name}/partitions`)).status).toBe(204);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 0 });
    expect((await http('GET', `${topics}/partitioned`)).json).not.toContain(full);
    const after = (await http('GET', topics)).json as string[];
    expect(after.filter((t) => t.startsWith(full))).toEqual([]);
  });

  it("answers Pulsar's statuses with a reason for refused requests", async () => {
    const name = uniqueName('refused');
    const expectRefusal = async (
      method: string,
      url: string,
      body: unknown,
      status: number,
    ): Promise<void> => {
      const reply = await http(method, url, body);
      expect({ method, url, status: reply.status }).toEqual({ method, url, status });
      expect(reply.json).toEqual({ reason: expect.any(String) });
    };
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 0, 406);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, -2, 406);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 'three', 400);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 1.5, 400);
    await expectRefusal('PUT', `${topics}/${name}-partition-0/partitions`, 2, 412);
    await expectRefusal('PUT', `${broker.url}/admin/v2/persistent/public/nope/${name}/partitions`, 2, 404);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 2, 404);
    await expectRefusal('DELETE', `${topics}/${name}/partitions`, undefined, 404);
    await expectRefusal('GET', `${topics}/${name}/partitioned-stats`, undefined, 404);

    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    await expectRefusal('PUT', `${topics}/${name}/partitions`, 2, 409);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 2, 409);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 1, 409);
    await expectRefusal('POST', `${topics}/${name}/partitions`, 0, 406);
    // The partitioned name is taken: no non-partitioned topic of that name.
    await expectRefusal('PUT', `${topics}/${name}`, undefined, 409);

    const plain = uniqueName('plain');
    expect((await http('PUT', `${topics}/${plain}`)).status).toBe(204);
    await expectRefusal('PUT', `${topics}/${plain}/partitions`, 2, 409);
    expect((await http('GET', `${topics}/${plain}/partitions`)).json).toEqual({ partitions: 0 });
  });

  it('refuses to delete a partitioned topic with a producer unless forced; sums the stats of its partitions', async () => {
    const name = uniqueName('busy');
    expect((await http('PUT', `${topics}/${name}/partitions`, 2)).status).toBe(204);
    await produce(broker.url, `public/default/${name}-partition-0`, [{ payload: 'a' }, { payload: 'b' }]);
    await produce(broker.url, `public/default/${name}-partition-1`, [{ payload: 'c' }]);
    const stats = (await http('GET', `${topics}/${name}/partitioned-stats`)).json as Record<string, unknown>;
    expect(stats).toMatchObject({ msgInCounter: 3, metadata: { partitions: 2 }, partitions: {} });
    const perPartition = (await http('GET', `${topics}/${name}/partitioned-stats?perPartition=true`))
      .json as { partitions: Record<string, { msgInCounter: number }> };
    expect(perPartition.partitions[`persistent://public/default/${name}-partition-0`]?.msgInCounter).toBe(2);
    expect(perPartition.partitions[`persistent://public/default/${name}-partition-1`]?.msgInCounter).toBe(1);

    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(
      `${broker.url.replace('http', 'ws')}/ws/v2/producer/persistent/public/default/${name}-partition-1`,
    );
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const busy = await http('DELETE', `${topics}/${name}/partitions`);
    expect(busy.status).toBe(412);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 2 });
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    expect((await http('DELETE', `${topics}/${name}/partitions?force=true`)).status).toBe(204);
    expect(await closed).toBeGreaterThanOrEqual(4000);
    expect((await http('GET', `${topics}/${name}/partitions`)).json).toEqual({ partitions: 0 });
  });
});
