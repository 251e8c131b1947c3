/**
 * Goal: a second, independent WebSocket client — Debian's python3-websocket (websocket-client) — produces and
 * consumes through Pulsar's WebSocket API unchanged: acks with its contexts, every message back in order with its
 * key, acks accepted (nothing redelivered to the next consumer of the subscription).
 * Method: test/fixtures/websocket-client.py run with python3 against `ledgerline standalone` as a child process
 * (broker-websocket-fixture.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestClient } from '../unit/broker/websocket/ws-client';
import { wsStandalone } from './broker-websocket-fixture';
import type { WsStandalone } from './broker-websocket-fixture';

let env!: WsStandalone;
wsStandalone((started) => (env = started));

const SCRIPT = join(__dirname, '..', 'fixtures', 'websocket-client.py');
/** Debian's interpreter, where python3-websocket is installed (a pyenv python3 earlier on PATH would not see it). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe('broker > websocket > python3-websocket client', () => {
  it('produces and consumes through the WebSocket API', async () => {
    const topic = `persistent/public/default/py-${process.pid}`;
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, env.base, topic, '25'], {
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim()) as Record<string, unknown[]>;
    expect(result.acks).toEqual(Array(25).fill('ok'));
    expect(result.contexts).toEqual(Array.from({ length: 25 }, (_, i) => `ctx-${i}`));
    expect(result.received).toEqual(Array.from({ length: 25 }, (_, i) => `py-${i}`));
    expect(result.keys).toEqual(Array.from({ length: 25 }, (_, i) => `key-${i % 2}`));
    expect(result.endOfTopic).toBe(false);

    // The python client's acks stuck: a new consumer of its subscription gets only what comes next.
    const consumer = await TestClient.connect(`${env.base}/ws/v2/consumer/${topic}/py-sub`);
    const producer = await TestClient.connect(`${env.base}/ws/v2/producer/${topic}`);
    producer.send({ payload: Buffer.from('after').toString('base64') });
    const [frame] = await consumer.waitFrames(1);
    expect(Buffer.from(frame!.payload as string, 'base64').toString()).toBe('after');
    consumer.close();
    producer.close();
  });
});
