/*
 * bench/kafka-clients: unmodified Kafka clients against `ledgerline standalone` (one bookie, every batch
 * fdatasync'ed by the journal before the produce is answered), as issue 7 measures them.
 *
 *   npm run build && node dist/bench/kafka-clients.js [--messages 300000] [--size 1024] [--runs 3]
 *       [--clients kcat,kafkajs] [--kafkajs-messages 100000] [--kafkajs-batch 1000] [--kafkajs-in-flight 8]
 *       [--bootstrap host:port] [--dir /path/on/the/disk] [--profile DIR]
 *
 * The standalone runs in a child process (bench/kafka-standalone.ts; `--bootstrap` uses a running broker
 * instead). Every run writes a fresh single-partition topic. One JSON line per result, medians of `runs`:
 *   disk_append_64k        write + fdatasync of 64 KiB blocks in the data dir's disk: the physical limit the
 *                          produce figures stand beside (MiB/s), measured in the same run
 *   kafka_kcat_produce     kcat -P (librdkafka 2.0: linger 5 ms, batches up to 10,000 messages / 1 MB) of
 *                          `messages` messages of `size` bytes, acks=all: msgs/s from start to kcat's exit (every
 *                          delivery report received); target >= 100,000 msgs/s
 *   kafka_kcat_consume     kcat -C -o beginning -c `messages` of those messages, every offset checked: msgs/s from
 *                          start to the last message; target >= 150,000 msgs/s
 *   kafka_kafkajs_produce  kafkajs 2.2.4 producer.send of `kafkajs-batch` messages per request, `kafkajs-in-flight`
 *                          requests outstanding, acks=-1: msgs/s
 *   kafka_kafkajs_consume  a kafkajs consumer (eachBatch, fromBeginning) of those: msgs/s from its first batch to
 *                          its last message (the group join before it is reported apart as joinMs)
 * Each line carries brokerCpuUsPerMsg: the standalone's CPU (all threads) per message during the runs. Client and
 * broker share the machine's two cores, so the figures are the pair's.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { diskAppendMibPerSecond } from './disk-append';
import { startKafkaTarget } from './kafka-standalone';
import type { KafkaTarget } from './kafka-standalone';
import { argValue, median, printResult, round } from './measure';

const messages = Number(argValue('messages', '300000'));
const size = Number(argValue('size', '1024'));
const runs = Number(argValue('runs', '3'));
const clients = argValue('clients', 'kcat,kafkajs').split(',');
const kafkajsMessages = Number(argValue('kafkajs-messages', '100000'));
const kafkajsBatch = Number(argValue('kafkajs-batch', '1000'));
const kafkajsInFlight = Number(argValue('kafkajs-in-flight', '8'));
const MIB = 1024 * 1024;

interface Run {
  msgsPerSecond: number;
  cpuUsPerMsg: number;
}

/** Runs `body` (which handles `count` messages) and measures its rate and the broker's CPU per message. */
async function measured(
  target: KafkaTarget,
  count: number,
  body: () => Promise<number | void>,
): Promise<Run> {
  const cpuBefore = target.cpuSeconds();
  const started = performance.now();
  const elapsedMs = (await body()) ?? performance.now() - started;
  return {
    msgsPerSecond: (count * 1000) / elapsedMs,
    cpuUsPerMsg: ((target.cpuSeconds() - cpuBefore) * 1e6) / count,
  };
}

function summary(bench: string, count: number, results: Run[], extra: Record<string, unknown>): void {
  const rate = median(results.map((r) => r.msgsPerSecond));
  printResult({
    bench,
    messageBytes: size,
    messagesPerRun: count,
    msgsPerSecond: round(rate),
    mibPerSecond: round((rate * size) / MIB, 1),
    runs: results.map((r) => round(r.msgsPerSecond)),
    brokerCpuUsPerMsg: round(median(results.map((r) => r.cpuUsPerMsg)), 2),
    ...extra,
  });
}

/** Runs a command to its exit; its stdout; throws on a non-zero exit or a delivery failure on stderr. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || /fail|error/i.test(err))
        reject(new Error(`${command} ${args.join(' ')}: exit ${code}\n${err}`));
      else resolve(Buffer.concat(out).toString());
    });
  });
}

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

async function kcatProduce(target: KafkaTarget, topic: string, file: string): Promise<void> {
  await run('kcat', ['-P', '-b', target.bootstrap, '-t', topic, '-p', '0', '-X', 'acks=all', '-l', file]);
}

/**
 * Reads the topic's `count` messages from the beginning with kcat; checks that offsets 0..count-1 came, in order.
 * Resolves with the ms from the start to the last message's line. `-c count` makes kcat stop at that message:
 * with `-e` alone it would read on to an empty fetch at the end, which a broker (Kafka's too) holds for
 * fetch.wait.max.ms (500 ms), and kcat's buffered output shows the last lines only when it exits after that wait.
 */
function kcatConsume(target: KafkaTarget, topic: string, count: number): Promise<number> {
  const args = [
    '-C',
    '-b',
    target.bootstrap,
    '-t',
    topic,
    '-p',
    '0',
    '-o',
    'beginning',
    '-c',
    String(count),
    '-e',
    '-q',
    '-f',
    '%o\n',
  ];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastAt = 0;
    let lines = 0;
    let inOrder = true;
    let tail = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString();
      const parts = text.split('\n');
      tail = parts.pop()!;
      for (const line of parts) {
        if (Number(line) !== lines) inOrder = false;
        if (++lines === count) lastAt = performance.now();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || /fail|error/i.test(err))
        reject(new Error(`kcat ${args.join(' ')}: exit ${code}\n${err}`));
      else if (lines !== count || !inOrder)
        reject(new Error(`kcat read ${lines} offsets (in order: ${inOrder}), expected 0..${count - 1}`));
      else resolve(lastAt - started);
    });
  });
}

async function benchKcat(target: KafkaTarget, kafka: Kafka): Promise<void> {
  const file = join(target.dir, 'messages.txt');
  const line = 'x'.repeat(size - 1);
  writeFileSync(
    file,
    `${Array.from({ length: messages }, (_, i) => `${i}${line}`.slice(0, size)).join('\n')}\n`,
  );
  const warmup = `bench-kcat-warmup-${Date.now()}`;
  await createTopic(kafka, warmup);
  await kcatProduce(target, warmup, file);
  await kcatConsume(target, warmup, messages);
  const produced: Run[] = [];
  const consumed: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const topic = `bench-kcat-${Date.now()}-${i}`;
    await createTopic(kafka, topic);
    produced.push(await measured(target, messages, () => kcatProduce(target, topic, file)));
    consumed.push(await measured(target, messages, () => kcatConsume(target, topic, messages)));
  }
  summary('kafka_kcat_produce', messages, produced, { acks: 'all', target: '>= 100000 msgs/s' });
  summary('kafka_kcat_consume', messages, consumed, { target: '>= 150000 msgs/s' });
}

async function kafkajsProduce(kafka: Kafka, topic: string, count: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const value = Buffer.alloc(size, 'x');
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const n = Math.min(kafkajsBatch, count - next);
        next += n;
        await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, () => ({ value })) });
      }
    };
    await Promise.all(Array.from({ length: kafkajsInFlight }, worker));
  } finally {
    await producer.disconnect();
  }
}

/** Consumes `count` messages from the beginning; ms from the first batch to the last message, and the join time. */
async function kafkajsConsume(
  kafka: Kafka,
  topic: string,
  count: number,
): Promise<{ ms: number; joinMs: number }> {
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxBytes: 50 * MIB });
  const started = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let first = 0;
  let received = 0;
  let lastOffset = -1;
  try {
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (first === 0) first = performance.now();
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset !== lastOffset + 1) reject(new Error(`offset ${offset} after ${lastOffset}`));
              lastOffset = offset;
            }
            received += batch.messages.length;
            if (received >= count) resolve();
          },
        })
        .catch(reject);
    });
    return { ms: performance.now() - first, joinMs: first - started };
  } finally {
    await consumer.disconnect();
  }
}

async function benchKafkajs(target: KafkaTarget, kafka: Kafka): Promise<void> {
  const warmup = `bench-kafkajs-warmup-${Date.now()}`;
  await createTopic(kafka, warmup);
  await kafkajsProduce(kafka, warmup, Math.ceil(kafkajsMessages / 10));
  const produced: Run[] = [];
  const consumed: Run[] = [];
  const joins: number[] = [];
  for (let i = 0; i < runs; i++) {
    const topic = `bench-kafkajs-${Date.now()}-${i}`;
    await createTopic(kafka, topic);
    produced.push(
      await measured(target, kafkajsMessages, () => kafkajsProduce(kafka, topic, kafkajsMessages)),
    );
    consumed.push(
      await measured(target, kafkajsMessages, async () => {
        const { ms, joinMs } = await kafkajsConsume(kafka, topic, kafkajsMessages);
        joins.push(joinMs);
        return ms;
      }),
    );
  }
  summary('kafka_kafkajs_produce', kafkajsMessages, produced, {
    batch: kafkajsBatch,
    inFlight: kafkajsInFlight,
    acks: -1,
  });
  summary('kafka_kafkajs_consume', kafkajsMessages, consumed, { joinMs: round(median(joins)) });
}

async function main(): Promise<void> {
  const target = await startKafkaTarget();
  try {
    const disk = diskAppendMibPerSecond(target.dir, { seconds: 2, runs });
    printResult({
      bench: 'disk_append_64k',
      mibPerSecond: round(median(disk), 1),
      runs: disk.map((r) => round(r, 1)),
      note: 'write + fdatasync of 64 KiB blocks in the standalone data dir: the synced append limit',
    });
    const kafka = new Kafka({ brokers: [target.bootstrap], clientId: 'bench', logLevel: logLevel.NOTHING });
    if (clients.includes('kcat')) await benchKcat(target, kafka);
    if (clients.includes('kafkajs')) await benchKafkajs(target, kafka);
  } finally {
    await target.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
  process.exit(1);
});
