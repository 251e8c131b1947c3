/*
 * Shared pieces of the WebSocket benchmarks (bench/ws-produce.ts, bench/ws-consume.ts): connecting to a running
 * broker's WebSocket API and a pipelined producer that keeps N sends in flight.
 */
import WebSocket from 'ws';
import { argValue } from './measure';

/** The broker's WebSocket base URL: `--url`, default a local standalone (`npm start`). */
export const BASE_URL = argValue('url', 'ws://127.0.0.1:8080');

export function open(path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${BASE_URL}/ws/v2/${path}`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

export function closeAll(...sockets: WebSocket[]): Promise<void> {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  ).then(() => undefined);
}

/**
 * A producer connection that keeps at most `inFlight` sends outstanding. Each send frame's context is the send's
 * sequence number; replies come back in order, so the reply for the oldest outstanding send is the next one.
 * `sentAt[seq]` is when send `seq` went out (performance.now ms).
 */
export class PipelinedProducer {
  private sent = 0;
  private acked = 0;
  private failed = 0;
  private readonly sentAt: number[] = [];
  private readonly latencies: number[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly frame: (seq: number) => string,
  ) {
    ws.on('message', (data) => {
      const text = String(data);
      if (!text.startsWith('{"result":"ok"')) this.failed++;
      const seq = this.acked++;
      this.latencies.push(performance.now() - this.sentAt[seq]!);
      this.sentAt[seq] = 0;
      this.wake?.();
    });
  }

  get ackedCount(): number {
    return this.acked;
  }
  get failedCount(): number {
    return this.failed;
  }

  /** Sends `count` messages with at most `inFlight` outstanding, at most `ratePerSecond` (0 = as fast as possible). */
  async run(
    count: number,
    inFlight: number,
    ratePerSecond = 0,
  ): Promise<{ seconds: number; latenciesMs: number[] }> {
    this.latencies.length = 0;
    const firstAck = this.acked;
    const start = performance.now();
    const target = this.sent + count;
    while (this.sent < target) {
      if (this.sent - this.acked >= inFlight) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (ratePerSecond > 0) {
        const due = start + ((this.sent - (target - count)) * 1000) / ratePerSecond;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const seq = this.sent++;
      this.sentAt[seq] = performance.now();
      this.ws.send(this.frame(seq));
    }
    while (this.acked < target) await new Promise<void>((resolve) => (this.wake = resolve));
    const seconds = (performance.now() - start) / 1000;
    if (this.acked - firstAck !== count) throw new Error('reply count mismatch');
    return { seconds, latenciesMs: [...this.latencies] };
  }
}

export function payloadFrame(size: number): (seq: number) => string {
  const payload = Buffer.alloc(size, 'x').toString('base64');
  return (seq) => `{"payload":"${payload}","context":"${seq}"}`;
}
