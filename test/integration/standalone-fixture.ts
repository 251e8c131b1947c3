import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { eventually } from '../harness';

/**
 * `ledgerline standalone` (or `ledgerline broker`) as a child process for the broker's end-to-end tests: the real
 * built command (`node bin/ledgerline.js`, dist/ from `npm run build`) on a temp data dir, free ports, loopback
 * only; plus a small admin client over Node's fetch and a WebSocket producer. Every child is SIGKILLed when the
 * test process exits, even if the test never stopped it.
 */

const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'ledgerline.js');
const READY_TIMEOUT_MS = 30_000;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function requireBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
}

export interface BrokerProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly startupMs: number;
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit; the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `ledgerline <args>` and resolves once it printed a line with `http://127.0.0.1:<port>`. */
export async function startBrokerProcess(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<BrokerProcess> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const port = await eventually(
    'the broker to print where it listens',
    () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `ledgerline ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}):\n${stdout}\n${stderr}`,
        );
      }
      const match = /http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      return match === null ? undefined : Number(match[1]);
    },
    READY_TIMEOUT_MS,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    startupMs: Date.now() - started,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * `ledgerline standalone` on `dataDir`: free bookie ports (kept across restarts), a free HTTP port and a free Kafka
 * port (a later `--kafka-port` in extraArgs wins), loopback.
 */
export function startStandalone(
  dataDir: string,
  extraArgs: string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<BrokerProcess> {
  return startBrokerProcess(
    [
      'standalone',
      '--data-dir',
      dataDir,
      '--bookie-port',
      '0',
      '--port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--kafka-port',
      '0',
      ...extraArgs,
    ],
    options,
  );
}

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (integers of 16+ digits as strings), undefined when it is empty or not JSON. */
  json: unknown;
}

/** One admin REST call with Node's fetch; `body` is sent as JSON unless it is a string or a Buffer. */
export async function http(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(quoteLongIntegers(text)) as unknown);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** JSON integers of 16+ digits (ledger ids, near 2^63) quoted, so that they parse exactly, as strings. */
function quoteLongIntegers(text: string): string {
  return text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"');
}

export interface SentMessage {
  payload: string;
  properties?: Record<string, string>;
  key?: string;
  sequenceId?: number;
}

/**
 * Publishes `messages` in order over one WebSocket producer (Pulsar's v2 API) and resolves with the message ids
 * the broker acknowledged (base64 MessageIdData), after every one of them said "ok".
 */
export async function produce(
  baseUrl: string,
  topicPath: string,
  messages: SentMessage[],
  options: { producerName?: string } = {},
): Promise<string[]> {
  const query =
    options.producerName === undefined ? '' : `?producerName=${encodeURIComponent(options.producerName)}`;
  const ws = new WebSocket(
    `${baseUrl.replace(/^http/, 'ws')}/ws/v2/producer/persistent/${topicPath}${query}`,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`producer refused: HTTP ${res.statusCode}`)),
      );
    });
    const ids = new Array<string>(messages.length);
    let acked = 0;
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as {
          result: string;
          messageId: string;
          context: string;
          errorMsg?: string;
        };
        if (reply.result !== 'ok') {
          reject(new Error(`send failed: ${data.toString()}`));
          return;
        }
        ids[Number(reply.context)] = reply.messageId;
        if (++acked === messages.length) resolve();
      });
      ws.once('close', (code, reason) => reject(new Error(`producer closed: ${code} ${reason.toString()}`)));
    });
    messages.forEach((message, index) =>
      ws.send(
        JSON.stringify({
          payload: Buffer.from(message.payload).toString('base64'),
          ...(message.properties !== undefined && { properties: message.properties }),
          ...(message.key !== undefined && { key: message.key }),
          ...(message.sequenceId !== undefined && { sequenceId: message.sequenceId }),
          context: String(index),
        }),
      ),
    );
    if (messages.length > 0) await done;
    return ids;
  } finally {
    if (ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close();
      await closed;
    }
  }
}

/**
 * Subscribes (Exclusive, WebSocket consumer) and resolves with the payloads of the first `count` messages
 * delivered, each acknowledged; fails after `timeoutMs`.
 */
export async function consume(
  baseUrl: string,
  topicPath: string,
  subscription: string,
  count: number,
  timeoutMs = 10_000,
): Promise<string[]> {
  const ws = new WebSocket(
    `${baseUrl.replace(/^http/, 'ws')}/ws/v2/consumer/persistent/${topicPath}/${subscription}?subscriptionType=Exclusive`,
  );
  const payloads: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${payloads.length} of ${count} messages within ${timeoutMs} ms`)),
        timeoutMs,
      );
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`consumer refused: HTTP ${res.statusCode}`)),
      );
      ws.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { messageId: string; payload: string };
        payloads.push(Buffer.from(message.payload, 'base64').toString());
        ws.send(JSON.stringify({ messageId: message.messageId }));
        if (payloads.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return payloads;
  } finally {
    // A close handshake, not a cut: the acks sent before it reach the broker first.
    if (ws.readyState === WebSocket.OPEN) {
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close();
      await closed;
    } else {
      ws.terminate();
    }
  }
}
