/**
 * Goal: the Kafka listener's connection layer behaves as Kafka clients need, before any topic is served: kafkajs
 * (unmodified) completes its ApiVersions handshake and a Metadata request; responses leave strictly in request
 * order even when the handler finishes them out of order, and a request starts before the one before it is answered
 * only once the handler says that one is ordered (at most 16 at once); acks=0-style requests (no response) do not hold later
 * ones; ApiVersions of a version above ours is answered with error 35 and the table, on a connection that stays
 * open; an unknown api key, an unsupported version, garbage, a 2^31-1 or negative size prefix, or a handler that
 * throws close that connection only, and the listener keeps serving others.
 * Method: a real KafkaServer on loopback with a small handler (ApiVersions, Metadata naming this listener), raw
 * sockets writing frames our codec builds (or bytes by hand), and kafkajs's admin client.
 */
import type { Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { silentLogger } from '../../common';
import {
  ApiKey,
  FrameSplitter,
  KafkaErrorCode,
  KafkaServer,
  apiVersionsBody,
  decodeResponse,
  encodeRequest,
} from '../../broker';
import type {
  KafkaRequest,
  KafkaServerHandler as KafkaRequestHandler,
  ResponseBody,
  SupportedApiKey,
} from '../../broker';
import { closesWithin, eventually, rawConnection } from '../harness';

/** Answers ApiVersions and Metadata (this listener as the only broker, no topics); delays each by `delayMs(req)`. */
class TestHandler implements KafkaRequestHandler {
  port = 0;
  delayMs: (request: KafkaRequest) => number = () => 0;
  /** Api keys whose requests get no response (as a Produce with acks=0). */
  silent = new Set<number>();
  /** Client ids whose requests make the handler throw. */
  failFor = new Set<string>();
  handled = 0;
  /** Whether the handler says each request is ordered as soon as it starts (as Produce does once its batches are sent). */
  orderedAtStart = false;
  /** Requests being handled at once, and the most seen. */
  concurrent = 0;
  concurrentMax = 0;

  async handle(
    request: KafkaRequest,
    _connection: unknown,
    ordered?: () => void,
  ): Promise<ResponseBody<SupportedApiKey> | undefined> {
    this.handled++;
    this.concurrentMax = Math.max(this.concurrentMax, ++this.concurrent);
    if (this.orderedAtStart) ordered?.();
    try {
      return await this.answer(request);
    } finally {
      this.concurrent--;
    }
  }

  private async answer(request: KafkaRequest): Promise<ResponseBody<SupportedApiKey> | undefined> {
    const delay = this.delayMs(request);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (request.clientId !== null && this.failFor.has(request.clientId)) throw new Error('handler failure');
    if (this.silent.has(request.apiKey)) return undefined;
    switch (request.apiKey) {
      case ApiKey.ApiVersions:
        return apiVersionsBody();
      case ApiKey.Metadata:
        return {
          throttleTimeMs: 0,
          brokers: [{ nodeId: 0, host: '127.0.0.1', port: this.port, rack: null }],
          clusterId: 'ledgerline-test',
          controllerId: 0,
          topics: [],
        };
      default:
        throw new Error(`not served by this test handler: api key ${request.apiKey}`);
    }
  }
}

/** A raw client: sends frames, collects response frames in arrival order. */
async function rawClient(port: number): Promise<{ socket: Socket; frames: Buffer[]; closed: Promise<void> }> {
  const { socket, closed } = await rawConnection(port);
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter();
  socket.on('data', (chunk: Buffer) => frames.push(...splitter.push(chunk)));
  return { socket, frames, closed };
}

function metadataRequest(correlationId: number, clientId = 'raw'): Buffer {
  return encodeRequest(
    { apiKey: ApiKey.Metadata, apiVersion: 4, correlationId, clientId },
    { topics: [], allowAutoTopicCreation: false },
  );
}

function apiVersionsRequest(correlationId: number, apiVersion = 0): Buffer {
  return encodeRequest({ apiKey: ApiKey.ApiVersions, apiVersion, correlationId, clientId: 'raw' }, {});
}

function correlationIdOf(frame: Buffer): number {
  return frame.readInt32BE(0);
}

describe('broker > kafka > server', () => {
  const handler = new TestHandler();
  let server: KafkaServer;

  beforeAll(async () => {
    server = await KafkaServer.start({ host: '127.0.0.1', port: 0, handler, logger: silentLogger() });
    handler.port = server.port;
  });

  afterEach(() => {
    handler.delayMs = () => 0;
    handler.silent.clear();
    handler.failFor.clear();
    handler.orderedAtStart = false;
    handler.concurrentMax = 0;
  });

  afterAll(async () => {
    await server.close();
  });

  /** A healthy exchange on a new connection: the listener still serves. */
  async function stillServes(): Promise<void> {
    const client = await rawClient(server.port);
    client.socket.write(metadataRequest(7));
    await eventually('a Metadata response', () => (client.frames.length === 1 ? true : undefined));
    expect(correlationIdOf(client.frames[0]!)).toBe(7);
    client.socket.destroy();
  }

  /**
   * Sends 60 Metadata requests (correlation ids from `firstId`) in one write on a new connection; once all are
   * answered, checks that the responses came in request order and returns them.
   */
  async function pipelinedMetadata(firstId: number): Promise<Buffer[]> {
    const client = await rawClient(server.port);
    const ids = Array.from({ length: 60 }, (_, i) => i + firstId);
    client.socket.write(Buffer.concat(ids.map((id) => metadataRequest(id))));
    await eventually('60 responses', () => (client.frames.length === ids.length ? true : undefined), 20000);
    expect(client.frames.map(correlationIdOf)).toEqual(ids);
    client.socket.destroy();
    return client.frames;
  }

  it('kafkajs completes ApiVersions and Metadata against it', async () => {
    const kafka = new Kafka({
      clientId: 'kafkajs-test',
      brokers: [`127.0.0.1:${server.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster).toEqual({
        brokers: [{ nodeId: 0, host: '127.0.0.1', port: server.port }],
        controller: 0,
        clusterId: 'ledgerline-test',
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('answers pipelined requests in request order although the handler finishes them out of order', async () => {
    // Earlier requests take longer: a server that answered as they finish would reverse them.
    handler.delayMs = (request) => 40 - (request.correlationId % 40);
    const frames = await pipelinedMetadata(100);
    const body = decodeResponse(ApiKey.Metadata, 4, frames[0]!).body;
    expect(body.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: server.port, rack: null }]);
    // The handler never said a request was ordered: each started only after the one before was answered.
    expect(handler.concurrentMax).toBe(1);
  });

  it('starts a request once the one before is ordered, at most 16 at once, and still answers in request order', async () => {
    handler.orderedAtStart = true;
    handler.delayMs = (request) => 40 - (request.correlationId % 40);
    await pipelinedMetadata(300);
    expect(handler.concurrentMax).toBeGreaterThan(1);
    expect(handler.concurrentMax).toBeLessThanOrEqual(16);
  });

  it('closes the connection when a request ordered early then fails, answering only what came before it', async () => {
    handler.orderedAtStart = true;
    handler.failFor.add('doomed');
    handler.delayMs = (request) => (request.clientId === 'doomed' ? 30 : 5);
    const client = await rawClient(server.port);
    client.socket.write(
      Buffer.concat([
        metadataRequest(1),
        metadataRequest(2, 'doomed'),
        metadataRequest(3),
        metadataRequest(4),
      ]),
    );
    expect(await closesWithin(client.closed, 5000)).toBe(true);
    expect(client.frames.map(correlationIdOf)).toEqual([1]);
    await stillServes();
  });

  it('sends nothing for a request its handler leaves unanswered, and answers the next one', async () => {
    handler.silent.add(ApiKey.Metadata);
    const client = await rawClient(server.port);
    client.socket.write(Buffer.concat([metadataRequest(1), apiVersionsRequest(2)]));
    await eventually('the ApiVersions response', () => (client.frames.length >= 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.frames.map(correlationIdOf)).toEqual([2]);
    client.socket.destroy();
  });

  it('answers ApiVersions of a version above ours with error 35 and the table, and keeps the connection', async () => {
    const client = await rawClient(server.port);
    // v9 request: only the header is read; the answer is a v0 body under response header v0.
    const header = Buffer.alloc(2 + 2 + 4 + 2 + 3);
    header.writeInt16BE(ApiKey.ApiVersions, 0);
    header.writeInt16BE(9, 2);
    header.writeInt32BE(41, 4);
    header.writeInt16BE(3, 8);
    header.write('raw', 10);
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length);
    client.socket.write(Buffer.concat([size, header, apiVersionsRequest(42, 3)]));
    await eventually('two responses', () => (client.frames.length === 2 ? true : undefined));
    const refused = decodeResponse(ApiKey.ApiVersions, 0, client.frames[0]!);
    expect(refused.correlationId).toBe(41);
    expect(refused.body.errorCode).toBe(KafkaErrorCode.UNSUPPORTED_VERSION);
    expect(refused.body.apiKeys.map((api) => api.apiKey)).toContain(ApiKey.Fetch);
    const answered = decodeResponse(ApiKey.ApiVersions, 3, client.frames[1]!);
    expect(answered.correlationId).toBe(42);
    expect(answered.body.errorCode).toBe(KafkaErrorCode.NONE);
    client.socket.destroy();
  });

  const closing: [string, () => Buffer][] = [
    [
      'an unknown api key',
      () => {
        const frame = Buffer.alloc(4 + 10);
        frame.writeInt32BE(10, 0);
        frame.writeInt16BE(999, 4);
        frame.writeInt32BE(5, 8);
        frame.writeInt16BE(-1, 12);
        return frame;
      },
    ],
    [
      'an unsupported version of a served api (Fetch v12)',
      () => {
        const frame = Buffer.alloc(4 + 10);
        frame.writeInt32BE(10, 0);
        frame.writeInt16BE(ApiKey.Fetch, 4);
        frame.writeInt16BE(12, 6);
        frame.writeInt32BE(5, 8);
        frame.writeInt16BE(-1, 12);
        return frame;
      },
    ],
    ['a 2^31-1 size prefix', () => Buffer.from([0x7f, 0xff, 0xff, 0xff])],
    ['a negative size prefix', () => Buffer.from([0xff, 0xff, 0xff, 0xfb])],
    [
      'garbage under a plausible size',
      () => Buffer.concat([Buffer.from([0, 0, 0, 6]), Buffer.from('garbag')]),
    ],
    [
      'a Metadata request cut short inside its body',
      () => {
        const whole = metadataRequest(3);
        const cut = whole.subarray(0, whole.length - 2);
        cut.writeInt32BE(cut.length - 4, 0);
        return cut;
      },
    ],
  ];

  it.each(closing)('closes the connection on %s, and serves other connections', async (_name, bytes) => {
    const client = await rawClient(server.port);
    client.socket.write(bytes());
    expect(await closesWithin(client.closed, 2000)).toBe(true);
    await stillServes();
  });

  it('closes the connection whose handler throws, after answering the requests before it', async () => {
    const good = await rawClient(server.port);
    const bad = await rawClient(server.port);
    handler.failFor.add('fails');
    bad.socket.write(Buffer.concat([metadataRequest(1), metadataRequest(2, 'fails'), metadataRequest(3)]));
    expect(await closesWithin(bad.closed, 2000)).toBe(true);
    expect(bad.frames.map(correlationIdOf)).toEqual([1]);
    good.socket.write(metadataRequest(4));
    await eventually('the other connection answered', () => (good.frames.length === 1 ? true : undefined));
    good.socket.destroy();
  });

  it('forgets closed connections', async () => {
    await eventually('every test connection gone', () => (server.connectionCount === 0 ? true : undefined));
  });
});
