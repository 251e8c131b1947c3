/**
 * Goal: issue 6 "Crash": `ledgerline standalone` SIGKILLed at random moments under publish and consume load, at
 * least 10 times; after each restart on the same data dir, every message that got "result":"ok" is delivered at
 * least once to each durable subscription, in publish order per producer, and nothing that was never sent is
 * delivered.
 * Method: the real built command as a child process (standalone-fixture.ts) on one temp --data-dir, loopback
 * only, real `ws` clients. Topic public/default/crash with two durable subscriptions created at the earliest
 * position before any publish: "exclusive" (one Exclusive consumer) and "shared" (two Shared consumers). Each
 * round starts the standalone, connects the consumers and two producers (producerName p0 / p1, payload
 * "<producer>:<seq>", seq running on across rounds, 16 sends in flight each), lets them run and SIGKILLs the
 * process 0.3–2.3 s after the load started, 10 times; one round in five is an extra kill 0–0.4 s after the start,
 * while the clients connect and the restart's redeliveries flow. Consumers ack on receipt (the Shared ones after up to 30 ms) and leave
 * ~3 % of messages unacked, so the cursors carry individual-ack holes into each crash. After the last kill a final
 * start drains both subscriptions (acking everything) and the test checks, over the deliveries of every round:
 *   - each "ok" message was delivered to each subscription, every time with the message id its "ok" carried;
 *   - every delivered payload is one a producer sent (answered or still in flight at the kill);
 *   - on "exclusive", per producer the first deliveries come in publish (seq) order;
 *   - no send was refused.
 * Seed: LEDGERLINE_SEED, else random; it is in the test name and every failure message. It drives the kill
 * moments (one generator) and which messages stay unacked (another); process timing is not reproducible.
 */
import WebSocket from 'ws';
import { TempDirs, eventually, seededRandom, testSeed } from '../harness';
import { http, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const SEED = testSeed();
const KILLS = 10;
const TOPIC = 'public/default/crash';
const PRODUCERS = ['p0', 'p1'];
const IN_FLIGHT = 16;
const SUBSCRIPTIONS = ['exclusive', 'shared'] as const;
type SubscriptionName = (typeof SUBSCRIPTIONS)[number];

const temp = new TempDirs();
let running: BrokerProcess | undefined;

afterAll(async () => {
  await running?.stop('SIGKILL');
  temp.removeAll();
});

/** What the test knows about every message: sent, answered, delivered. */
class History {
  /** payload → the message id its "ok" carried. */
  readonly acknowledged = new Map<string, string>();
  /** Every payload sent, answered or not. */
  readonly sent = new Set<string>();
  readonly refused: string[] = [];
  readonly nextSeq = new Map<string, number>(PRODUCERS.map((name) => [name, 0]));
  /** Per subscription: payload → the message ids it was delivered with. */
  readonly delivered = new Map<SubscriptionName, Map<string, string[]>>(
    SUBSCRIPTIONS.map((name) => [name, new Map()]),
  );
  /** "exclusive": per producer the seqs of first deliveries, in delivery order. */
  readonly firstDeliveries = new Map<string, number[]>(PRODUCERS.map((name) => [name, []]));

  deliver(subscription: SubscriptionName, payload: string, messageId: string): void {
    const ids = this.delivered.get(subscription)!;
    const seen = ids.get(payload);
    if (seen !== undefined) {
      seen.push(messageId);
      return;
    }
    ids.set(payload, [messageId]);
    if (subscription === 'exclusive') {
      const [producer, seq] = payload.split(':');
      this.firstDeliveries.get(producer!)?.push(Number(seq));
    }
  }

  missing(subscription: SubscriptionName): string[] {
    const ids = this.delivered.get(subscription)!;
    return [...this.acknowledged.keys()].filter((payload) => !ids.has(payload));
  }
}

function wsUrl(broker: BrokerProcess, path: string): string {
  return `${broker.url.replace('http://', 'ws://')}/ws/v2/${path}`;
}

/**
 * Opens a WebSocket; rejects with the HTTP status of a refused upgrade and the end of the broker's log (warnings
 * and errors: a 500 is logged with its cause).
 */
function open(broker: BrokerProcess, url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', (error) => reject(error)); // later errors (the kill) end in 'close'; nothing to do
    ws.once('unexpected-response', (_request, response) => {
      const log = `${broker.stdout()}${broker.stderr()}`.slice(-4000);
      reject(new Error(`${url} refused: HTTP ${response.statusCode}; the broker's log ends:\n${log}`));
    });
    ws.once('open', () => resolve(ws));
  });
}

async function connectConsumer(
  broker: BrokerProcess,
  history: History,
  subscription: SubscriptionName,
  consumerName: string,
  random: () => number,
  ackAll: boolean,
): Promise<WebSocket> {
  const type = subscription === 'exclusive' ? 'Exclusive' : 'Shared';
  const ws = await open(
    broker,
    wsUrl(
      broker,
      `consumer/persistent/${TOPIC}/${subscription}?subscriptionType=${type}&consumerName=${consumerName}`,
    ),
  );
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as { messageId: string; payload: string };
    history.deliver(subscription, Buffer.from(frame.payload, 'base64').toString(), frame.messageId);
    if (!ackAll && random() < 0.03) return; // left unacked: redelivered after the next restart
    const ack = (): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ messageId: frame.messageId }));
    };
    if (subscription === 'shared' && !ackAll) setTimeout(ack, Math.floor(random() * 30));
    else ack();
  });
  return ws;
}

/** A producer keeping IN_FLIGHT sends outstanding until its socket closes; `stop` ends new sends. */
async function startProducer(
  broker: BrokerProcess,
  history: History,
  name: string,
): Promise<{ ws: WebSocket; stop(): void }> {
  const ws = await open(broker, wsUrl(broker, `producer/persistent/${TOPIC}?producerName=${name}`));
  let stopped = false;
  const sendNext = (): void => {
    if (stopped || ws.readyState !== WebSocket.OPEN) return;
    const seq = history.nextSeq.get(name)!;
    history.nextSeq.set(name, seq + 1);
    const payload = `${name}:${seq}`;
    history.sent.add(payload);
    ws.send(JSON.stringify({ payload: Buffer.from(payload).toString('base64'), context: payload }));
  };
  ws.on('message', (data: Buffer) => {
    const reply = JSON.parse(data.toString()) as { result: string; messageId: string; context: string };
    if (reply.result === 'ok') history.acknowledged.set(reply.context, reply.messageId);
    else history.refused.push(data.toString());
    sendNext();
  });
  for (let i = 0; i < IN_FLIGHT; i++) sendNext();
  return { ws, stop: () => (stopped = true) };
}

async function connectConsumers(
  broker: BrokerProcess,
  history: History,
  random: () => number,
  ackAll = false,
): Promise<WebSocket[]> {
  return [
    await connectConsumer(broker, history, 'exclusive', 'x', random, ackAll),
    await connectConsumer(broker, history, 'shared', 's0', random, ackAll),
    await connectConsumer(broker, history, 'shared', 's1', random, ackAll),
  ];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('standalone > crash', () => {
  it(
    `seed ${SEED}: ${KILLS} SIGKILLs under load (and some at start), every "ok" message delivered to each durable subscription, ` +
      'in publish order per producer',
    async () => {
      requireBuilt();
      const context = `seed ${SEED} (LEDGERLINE_SEED=${SEED})`;
      const schedule = seededRandom(SEED);
      const acks = seededRandom(SEED + 1);
      const dataDir = temp.make('ledgerline-standalone-crash-');
      const history = new History();
      const rounds: string[] = [];

      running = await startStandalone(dataDir);
      const admin = `${running.url}/admin/v2/persistent/${TOPIC}`;
      expect((await http('PUT', admin)).status).toBe(204);
      for (const subscription of SUBSCRIPTIONS) {
        const created = await http('PUT', `${admin}/subscription/${subscription}`, {
          ledgerId: -1,
          entryId: -1,
        });
        expect(created.status).toBe(204);
      }

      for (let round = 0, loadKills = 0; loadKills < KILLS; round++) {
        const broker = running ?? (running = await startStandalone(dataDir));
        const okBefore = history.acknowledged.size;
        // KILLS kills 0.3–2.3 s into the load; in between, one round in five is killed while the clients connect
        // and the restart's redeliveries flow.
        const early = schedule() < 0.2;
        const killAfter = early ? Math.floor(schedule() * 400) : 300 + Math.floor(schedule() * 2000);
        const producers: Array<{ stop(): void }> = [];
        const load = async (): Promise<void> => {
          await connectConsumers(broker, history, acks);
          producers.push(
            ...(await Promise.all(PRODUCERS.map((name) => startProducer(broker, history, name)))),
          );
        };
        const startedAt = Date.now();
        if (early) {
          const loading = load().catch(() => undefined); // the kill may refuse or cut the connections
          await sleep(killAfter);
          await broker.stop('SIGKILL');
          await loading;
        } else {
          await load();
          await sleep(killAfter);
          await broker.stop('SIGKILL');
          loadKills++;
        }
        running = undefined;
        for (const producer of producers) producer.stop();
        rounds.push(
          `round ${round}: killed ${killAfter} ms ${early ? 'after the start' : 'into the load'} ` +
            `(${Date.now() - startedAt} ms with clients), ` +
            `${history.acknowledged.size - okBefore} ok`,
        );
      }

      // The drain: one more start, everything acked, until each subscription has had every "ok" message.
      const broker = (running = await startStandalone(dataDir));
      const consumers = await connectConsumers(broker, history, acks, true);
      const summary = (): string =>
        `${context}: ${history.acknowledged.size} ok of ${history.sent.size} sent; ` +
        SUBSCRIPTIONS.map((name) => {
          const ids = [...history.delivered.get(name)!.values()];
          const redelivered = ids.reduce((sum, list) => sum + list.length - 1, 0);
          const missing = history.missing(name);
          const examples = missing.length === 0 ? '' : ` (${missing.slice(0, 5).join(', ')}, ...)`;
          return `${name}: ${ids.length} delivered, ${redelivered} redeliveries, missing ${missing.length}${examples}`;
        }).join('; ') +
        `\n${rounds.join('\n')}`;
      await eventually(
        `every "ok" message delivered to both subscriptions (${context})`,
        () => (SUBSCRIPTIONS.every((name) => history.missing(name).length === 0) ? true : undefined),
        20_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${summary()}`);
      });

      expect({ context, refused: history.refused }).toEqual({ context, refused: [] });
      expect(history.acknowledged.size).toBeGreaterThan(KILLS * 20);
      for (const subscription of SUBSCRIPTIONS) {
        const delivered = history.delivered.get(subscription)!;
        const unknown = [...delivered.keys()].filter((payload) => !history.sent.has(payload));
        expect({ context, subscription, unknown }).toEqual({ context, subscription, unknown: [] });
        const wrongIds = [...history.acknowledged].filter(([payload, id]) =>
          delivered.get(payload)!.some((deliveredId) => deliveredId !== id),
        );
        expect({ context, subscription, wrongIds }).toEqual({ context, subscription, wrongIds: [] });
      }
      for (const [producer, seqs] of history.firstDeliveries) {
        const outOfOrder = seqs.filter((seq, i) => i > 0 && seq <= seqs[i - 1]!);
        expect({ context, producer, outOfOrder }).toEqual({ context, producer, outOfOrder: [] });
        expect(seqs.length).toBeGreaterThan(0);
      }
      // Everything was acked in the drain: both subscriptions' backlogs reach 0.
      await eventually(`both backlogs to drain (${context})`, async () => {
        const { subscriptions } = (await http('GET', `${broker.url}/admin/v2/persistent/${TOPIC}/stats`))
          .json as { subscriptions: Record<string, { msgBacklog: number }> };
        return SUBSCRIPTIONS.every((name) => subscriptions[name]!.msgBacklog === 0) ? true : undefined;
      });
      for (const consumer of consumers) consumer.close();
      process.stdout.write(`${summary()}\n`);
      expect(await broker.stop('SIGTERM')).toBe(0);
      running = undefined;
    },
    180_000,
  );
});
