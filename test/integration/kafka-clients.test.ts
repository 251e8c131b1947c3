/**
 * Goal: one topic shared by three unmodified Kafka clients (kafka.md §8): kcat (librdkafka) produces keyed
 * messages with headers, asked to compress with gzip, lz4 and snappy (librdkafka 2.0 compresses only for a broker
 * whose Produce range includes v0, and ours is exactly v3: it logs "Broker does not support compression type"
 * and sends them uncompressed — compressed batches are tested with kafkajs's codecs in kafka-websocket.test.ts),
 * and kafkajs reads them; kafkajs produces and kcat
 * reads; kafka-python produces and consumes in a group and commits, and kcat's group reads on from that commit.
 * Method: `ledgerline standalone` as a child process (standalone-fixture.ts) with its Kafka listener on a free
 * port; Debian's kcat and python3-kafka (installed by .ci/run) as child processes, kafkajs in the test.
 */
import { execFile } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { TempDirs } from '../harness';
import { requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess } from './standalone-fixture';

const dirs = new TempDirs();
let broker: BrokerProcess | undefined;
let bootstrap = '';

function run(command: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null)
        reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

function kafka(): Kafka {
  return new Kafka({ brokers: [bootstrap], clientId: 'kafka-clients-test', logLevel: logLevel.NOTHING });
}

async function kafkajsRead(
  topic: string,
  count: number,
): Promise<Array<{ key: string; value: string; headers: Record<string, string> }>> {
  const consumer = kafka().consumer({ groupId: `read-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<{ offset: bigint; key: string; value: string; headers: Record<string, string> }> = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(message.headers ?? {})) headers[key] = String(value);
        got.push({
          offset: BigInt(message.offset),
          key: String(message.key),
          value: String(message.value),
          headers,
        });
        if (got.length === count) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(got.map((m) => m.offset)).toEqual(got.map((_, i) => BigInt(i)));
  return got.map(({ key, value, headers }) => ({ key, value, headers }));
}

beforeAll(async () => {
  requireBuilt();
  broker = await startStandalone(dirs.make('ledgerline-kafka-clients-'));
  const match = /kafka: (127\.0\.0\.1:\d+)/.exec(broker.stdout());
  if (match === null) throw new Error(`no Kafka listener printed:\n${broker.stdout()}`);
  bootstrap = match[1]!;
});

afterAll(async () => {
  await broker?.stop('SIGKILL');
  dirs.removeAll();
});

describe('broker > kafka > clients (kcat, kafkajs, kafka-python on one standalone)', () => {
  it('kcat produces keyed messages with headers, with -z none/gzip/lz4/snappy (sent uncompressed, see above); kafkajs reads them all', async () => {
    const topic = 'from-kcat';
    const codecs = ['none', 'gzip', 'lz4', 'snappy'];
    for (const [n, codec] of codecs.entries()) {
      const lines = [0, 1, 2].map((i) => `k${i}:${codec}-${i}`).join('\n');
      await run(
        'kcat',
        ['-P', '-b', bootstrap, '-t', topic, '-K:', '-z', codec, '-H', `codec=${codec}`, '-H', `n=${n}`],
        lines,
      );
    }
    const got = await kafkajsRead(topic, 12);
    expect(got).toEqual(
      codecs.flatMap((codec, n) =>
        [0, 1, 2].map((i) => ({ key: `k${i}`, value: `${codec}-${i}`, headers: { codec, n: `${n}` } })),
      ),
    );
  });

  it('kafkajs produces, kcat reads every message at its offset', async () => {
    const topic = 'from-kafkajs';
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `js-${i}` })),
    });
    await producer.send({ topic, messages: [{ key: 'last', value: 'js-5' }] });
    await producer.disconnect();
    const out = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-e', '-q', '-f', '%o %k %s\\n']);
    expect(out.trim().split('\n')).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `${i} k${i} js-${i}`),
      '5 last js-5',
    ]);
  });

  it('kafka-python produces and consumes in a group with a commit; kcat -G in that group reads on from it', async () => {
    const script = `
import sys
from kafka import KafkaProducer, KafkaConsumer
b = sys.argv[1]
p = KafkaProducer(bootstrap_servers=b, acks='all')
for i in range(10):
    p.send('from-python', key=b'k%d' % i, value=b'py-%d' % i, headers=[('i', str(i).encode())])
p.flush(); p.close()
c = KafkaConsumer(bootstrap_servers=b, group_id='shared', auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=10000)
c.subscribe(['from-python'])
seen = []
for m in c:
    seen.append('%d %s %s %s' % (m.offset, m.key.decode(), m.value.decode(), dict(m.headers)['i'].decode()))
    if len(seen) == 6:
        break
c.commit(); c.close()
print('\\n'.join(seen))
`;
    const out = await run('/usr/bin/python3', ['-c', script, bootstrap]);
    expect(out.trim().split('\n')).toEqual(Array.from({ length: 6 }, (_, i) => `${i} k${i} py-${i} ${i}`));
    const rest = await run('kcat', [
      '-b',
      bootstrap,
      '-G',
      'shared',
      '-e',
      '-q',
      '-f',
      '%o %s\\n',
      'from-python',
    ]);
    expect(rest.trim().split('\n')).toEqual(Array.from({ length: 4 }, (_, i) => `${i + 6} py-${i + 6}`));
  });
});
