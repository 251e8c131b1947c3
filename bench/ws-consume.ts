/*
 * bench/ws-consume: consuming through Pulsar's WebSocket API — end-to-end latency to a connected consumer, and
 * the consume rate from a backlog.
 *
 *   npm start   (in another terminal)
 *   npm run build && node dist/bench/ws-consume.js [--url ws://127.0.0.1:8080] [--rate 10000] [--seconds 10]
 *       [--backlog 200000] [--size 1024]
 *
 * Two JSON lines:
 *   ws_end_to_end_latency  a consumer (Exclusive, receiverQueueSize 1000, acking each message) on a topic that one
 *                          producer publishes to at `rate` msgs/s for three warm-up seconds and then `seconds`:
 *                          publish → receive p50/p99/max over the messages after the warm-up. In a standalone just
 *                          started, the broker's code is not compiled yet for the first seconds (stalls of up to
 *                          ~130 ms): measured from the first message, p99 was 210-260 ms on a fresh standalone
 *                          and 28-40 ms on the next run; after 1 s of warm-up 77-91 ms, after 3 s 24-29 ms.
 *   ws_consume_backlog     `backlog` messages produced with no consumer attached (1,000 in flight), then a
 *                          consumer of the subscription reads and acks them all: msgs/s; target (issue 6) >= 50,000
 */
import type WebSocket from 'ws';
import { argValue, percentile, printResult, round } from './measure';
import { PipelinedProducer, closeAll, open } from './ws-common';

const rate = Number(argValue('rate', '10000'));
const seconds = Number(argValue('seconds', '10'));
const backlog = Number(argValue('backlog', '200000'));
const size = Number(argValue('size', '1024'));
const WARM_UP_SECONDS = 3;

/** Acks every message; calls onMessage with its parsed frame; resolves once `count` have arrived. */
function consume(
  ws: WebSocket,
  count: number,
  onMessage: (frame: { messageId: string; properties: Record<string, string> }) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let received = 0;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { messageId: string; properties: Record<string, string> };
      ws.send(`{"messageId":"${frame.messageId}"}`);
      onMessage(frame);
      if (++received === count) resolve();
    });
  });
}

async function endToEnd(): Promise<void> {
  const topic = `persistent/public/default/bench-ws-e2e-${Date.now()}`;
  const consumerWs = await open(`consumer/${topic}/bench`);
  const producerWs = await open(`producer/${topic}`);
  const payload = Buffer.alloc(size, 'x').toString('base64');
  const producer = new PipelinedProducer(
    producerWs,
    (seq) => `{"payload":"${payload}","context":"${seq}","properties":{"t":"${performance.now()}"}}`,
  );
  const warmUp = Math.floor(rate * WARM_UP_SECONDS);
  const count = Math.max(1, Math.floor(rate * seconds));
  const latencies = new Float64Array(count);
  let received = 0;
  const done = consume(consumerWs, warmUp + count, (frame) => {
    if (received++ >= warmUp)
      latencies[received - warmUp - 1] = performance.now() - Number(frame.properties.t);
  });
  await producer.run(warmUp + count, 1000, rate);
  await done;
  latencies.sort();
  printResult({
    bench: 'ws_end_to_end_latency',
    rate,
    warmUpMessages: warmUp,
    messages: count,
    messageBytes: size,
    p50Ms: round(percentile(latencies, 0.5), 2),
    p99Ms: round(percentile(latencies, 0.99), 2),
    maxMs: round(latencies[latencies.length - 1] ?? 0, 2),
  });
  await closeAll(consumerWs, producerWs);
}

async function fromBacklog(): Promise<void> {
  const topic = `persistent/public/default/bench-ws-backlog-${Date.now()}`;
  await closeAll(await open(`consumer/${topic}/bench`)); // creates the subscription
  const producerWs = await open(`producer/${topic}`);
  const payload = Buffer.alloc(size, 'x').toString('base64');
  await new PipelinedProducer(producerWs, (seq) => `{"payload":"${payload}","context":"${seq}"}`).run(
    backlog,
    1000,
  );
  await closeAll(producerWs);
  const start = performance.now();
  const consumerWs = await open(`consumer/${topic}/bench`);
  await consume(consumerWs, backlog, () => undefined);
  const elapsed = (performance.now() - start) / 1000;
  printResult({
    bench: 'ws_consume_backlog',
    messages: backlog,
    messageBytes: size,
    msgsPerSecond: round(backlog / elapsed),
    seconds: round(elapsed, 2),
    target: '>= 50000 msgs/s',
  });
  await closeAll(consumerWs);
}

async function main(): Promise<void> {
  await endToEnd();
  await fromBacklog();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
