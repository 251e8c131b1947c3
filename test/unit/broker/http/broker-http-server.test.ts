import { connect } from 'node:net';
import { silentLogger } from '../../../../common';
import { BrokerHttpServer } from '../../../../broker/http/broker-http-server';
import { HttpError, parseJsonBody, readBody, sendJson, toJson } from '../../../../broker/http/http-exchange';

class Refused extends Error {}

describe('broker > http > BrokerHttpServer', () => {
  let server: BrokerHttpServer;
  let base: string;
  const upgrades: string[] = [];

  beforeAll(async () => {
    server = new BrokerHttpServer({
      logger: silentLogger(),
      errorStatus: (error) => (error instanceof Refused ? 409 : undefined),
      onUpgrade: (req, socket) => {
        upgrades.push(req.url ?? '');
        socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n');
      },
    });
    server.route('GET', '/items/:name', ({ res, params, query }) =>
      sendJson(res, 200, { name: params.name, limit: query.get('limit'), id: 2n ** 60n }),
    );
    server.route('PUT', '/items/:name', async ({ req, res }) => {
      sendJson(res, 200, parseJsonBody(await readBody(req, 16)) ?? null);
    });
    server.route('GET', '/refused', () => {
      throw new Refused('busy');
    });
    server.route('GET', '/bug', async () => {
      await Promise.resolve();
      throw new TypeError('a bug');
    });
    server.route('GET', '/teapot', () => {
      throw new HttpError(418, 'short and stout');
    });
    await server.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(() => server.close());

  it('routes with decoded path parameters and the query string; bigints are JSON numbers', async () => {
    const response = await fetch(`${base}/items/a%20b?limit=3`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`{"name":"a b","limit":"3","id":${2n ** 60n}}`);
  });

  it('answers an unknown path 404 and an unknown method 404 with {"reason"}', async () => {
    for (const [method, path] of [
      ['GET', '/nothing'],
      ['DELETE', '/items/x'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ reason: 'Not found' });
    }
  });

  it('refuses a bad percent-encoding with 400 and a path segment over 1024 characters with 414', async () => {
    expect((await fetch(`${base}/items/%ZZ`)).status).toBe(400);
    const long = await fetch(`${base}/items/${'x'.repeat(1025)}`);
    expect(long.status).toBe(414);
    expect(await long.json()).toEqual({ reason: expect.stringMatching(/longer than 1024/) });
    expect((await fetch(`${base}/items/${'x'.repeat(1024)}`)).status).toBe(200);
  });

  it('maps thrown errors: HttpError by its status, known errors by errorStatus, anything else 500', async () => {
    const statuses = await Promise.all(
      ['/refused', '/bug', '/teapot'].map(async (path) => {
        const response = await fetch(`${base}${path}`);
        return [response.status, await response.json()];
      }),
    );
    expect(statuses).toEqual([
      [409, { reason: 'busy' }],
      [500, { reason: 'a bug' }],
      [418, { reason: 'short and stout' }],
    ]);
  });

  it('parses a JSON body, refuses bad JSON with 400 and a body over the cap with 413', async () => {
    const ok = await fetch(`${base}/items/x`, { method: 'PUT', body: '[1,2]' });
    expect(await ok.json()).toEqual([1, 2]);
    const bad = await fetch(`${base}/items/x`, { method: 'PUT', body: '{"a":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { reason: string }).reason).toMatch(/not valid JSON/);
    const big = await fetch(`${base}/items/x`, { method: 'PUT', body: 'x'.repeat(17) });
    expect(big.status).toBe(413);
    // A chunked body (no Content-Length) is cut off at the cap too.
    const chunked = await fetch(`${base}/items/x`, {
      method: 'PUT',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('x'.repeat(10)));
          controller.enqueue(new TextEncoder().encode('x'.repeat(10)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await fetch(`${base}/items/still-up`)).status).toBe(200);
  });

  it('hands upgrade requests to onUpgrade', async () => {
    const socket = connect(server.port, '127.0.0.1');
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.write('GET /ws/v2/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1.1 101/);
    expect(upgrades).toEqual(['/ws/v2/x']);
  });

  it('answers garbage on the wire with 400 and keeps serving', async () => {
    const socket = connect(server.port, '127.0.0.1');
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.write('\x00\x01 not http\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1.1 400/);
    expect((await fetch(`${base}/items/y`)).status).toBe(200);
  });
});

describe('broker > http > listen', () => {
  it('names the address and the cause when the port is taken', async () => {
    const first = new BrokerHttpServer({ logger: silentLogger() });
    await first.listen(0, '127.0.0.1');
    try {
      const second = new BrokerHttpServer({ logger: silentLogger() });
      await expect(second.listen(first.port, '127.0.0.1')).rejects.toThrow(
        `the broker cannot listen on 127.0.0.1:${first.port} (webServicePort): EADDRINUSE`,
      );
    } finally {
      await first.close();
    }
  });
});

describe('broker > http > toJson', () => {
  it('writes bigints as exact JSON numbers, also past 2^53, and leaves look-alike strings alone', () => {
    expect(toJson({ a: 5n, b: [2n ** 63n - 1n, -3n], c: '\u0000bigint:7' })).toBe(
      '{"a":5,"b":[9223372036854775807,-3],"c":"\\u0000bigint:7"}',
    );
    expect(toJson({ plain: 1 })).toBe('{"plain":1}');
  });
});

describe('broker > http > parseJsonBody', () => {
  it('keeps integers past 2^53 exact (as digit strings), leaves strings and short numbers alone', () => {
    const body = Buffer.from(
      '{"ledgerId":9187343239835811841,"entryId":-3,"s":"1234567890123456789","f":1.5e300}',
    );
    expect(parseJsonBody(body)).toEqual({
      ledgerId: '9187343239835811841',
      entryId: -3,
      s: '1234567890123456789',
      f: 1.5e300,
    });
    expect(parseJsonBody(Buffer.from('  '))).toBeUndefined();
    expect(() => parseJsonBody(Buffer.from('{"a":12345678901234567 8}'))).toThrow(HttpError);
  });
});
