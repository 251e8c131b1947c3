/*
 * bench/ws-produce: one WebSocket producer connection publishing 1 KiB messages through Pulsar's WebSocket API.
 *
 *   npm start   (in another terminal: standalone, one bookie, fsync before ack)
 *   npm run build && node dist/bench/ws-produce.js [--url ws://127.0.0.1:8080] [--messages 200000]
 *       [--in-flight 1000] [--runs 3] [--size 1024] [--latency-seconds 10]
 *
 * Two JSON lines:
 *   ws_produce_throughput  msgs/s with `in-flight` sends outstanding (median of the runs, after a warm-up of a
 *                          tenth of the messages); target (issue 6) >= 30,000 msgs/s
 *   ws_publish_latency     publish latency (send → "ok") p50/p99/max at 80% of that rate for latency-seconds;
 *                          target p99 <= 50 ms
 */
import { argValue, median, percentile, printResult, round } from './measure';
import { PipelinedProducer, closeAll, open, payloadFrame } from './ws-common';

const messages = Number(argValue('messages', '200000'));
const inFlight = Number(argValue('in-flight', '1000'));
const runs = Number(argValue('runs', '3'));
const size = Number(argValue('size', '1024'));
const latencySeconds = Number(argValue('latency-seconds', '10'));

async function main(): Promise<void> {
  const topic = `persistent/public/default/bench-ws-produce-${Date.now()}`;
  const ws = await open(`producer/${topic}`);
  const producer = new PipelinedProducer(ws, payloadFrame(size));
  await producer.run(Math.max(1, Math.floor(messages / 10)), inFlight);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { seconds } = await producer.run(messages, inFlight);
    rates.push(messages / seconds);
  }
  const rate = median(rates);
  printResult({
    bench: 'ws_produce_throughput',
    url: argValue('url', 'ws://127.0.0.1:8080'),
    messageBytes: size,
    inFlight,
    messagesPerRun: messages,
    msgsPerSecond: round(rate),
    runs: rates.map((r) => round(r)),
    failed: producer.failedCount,
    target: '>= 30000 msgs/s',
  });
  const paced = Math.max(1, Math.floor(rate * 0.8));
  const { latenciesMs, seconds } = await producer.run(
    Math.max(1, Math.floor(paced * latencySeconds)),
    inFlight,
    paced,
  );
  const sorted = Float64Array.from(latenciesMs).sort();
  printResult({
    bench: 'ws_publish_latency',
    targetRate: paced,
    achievedRate: round(latenciesMs.length / seconds),
    messageBytes: size,
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted[sorted.length - 1] ?? 0, 2),
    failed: producer.failedCount,
    target: 'p99 <= 50 ms at 80% of the max rate',
  });
  await closeAll(ws);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
