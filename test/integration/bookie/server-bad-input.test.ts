/**
 * Goal: bad input never crashes the bookie or disturbs other clients; a bad frame closes only its own
 * connection, and a client that does not read its responses only slows itself down.
 * Method: a real BookieServer (real Journal and DbLedgerStorage) on loopback. Raw sockets send truncated,
 * garbage, oversized and v2 frames, each checked to close its own connection while a well-behaved client on
 * another keeps adding and reading. The 100,000-frame mutation loop is server-fuzz.test.ts.
 */
import {
  DEFAULT_MAX_FRAME_SIZE_BYTES,
  FrameDecoder,
  OperationType,
  ProtocolVersion,
  StatusCode,
  decodeResponse,
  encodeFrame,
  encodeRequestFrame,
  masterKey,
} from '../../../protocol';
import type { Request } from '../../../protocol';
import { BookieClient, closesWithin, eventually, rawConnection, TempDirs } from '../../harness';
import { packedEntry, startBookieServer } from './server-fixture';
import type { RunningBookie } from './server-fixture';

const KEY = masterKey(Buffer.from('pw'));

describe('bookie > server > bad input', () => {
  const dirs = new TempDirs();
  let running: RunningBookie;
  let healthy: BookieClient;
  let healthyNext = 0n;

  /** The well-behaved client adds an entry and reads it back; it must always work. */
  async function healthyRoundTrip(): Promise<void> {
    const entryId = healthyNext++;
    const body = packedEntry(42n, entryId);
    const added = await healthy.addEntry({ ledgerId: 42n, entryId, masterKey: KEY, body });
    expect(added.status).toBe(StatusCode.EOK);
    expect((await healthy.readEntry(42n, entryId)).readResponse?.body).toEqual(body);
  }

  beforeAll(async () => {
    running = await startBookieServer(dirs.make('bookie-bad-input-'), {
      limits: { writeBufferHighBytes: 1024 * 1024, readsInFlightHigh: 16 },
    });
    healthy = await BookieClient.connect(running.port);
    await healthyRoundTrip();
  });

  afterAll(async () => {
    await healthy.close();
    await running.stop();
    dirs.removeAll();
  });

  const lengthPrefix = (length: number): Buffer => {
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(length, 0);
    return bytes;
  };

  const closingInputs: [string, Buffer][] = [
    ['a frame longer than nettyMaxFrameSizeBytes', lengthPrefix(DEFAULT_MAX_FRAME_SIZE_BYTES + 1)],
    ['a length of 2^31-1', lengthPrefix(0x7fff_ffff)],
    ['a negative length', lengthPrefix(-5)],
    ['garbage that is not a v3 Request', encodeFrame(Buffer.from('this is not a protobuf message, at all'))],
    ['an empty frame (length 0)', lengthPrefix(0)],
    [
      'a v2 binary add (header int, master key, entry)',
      encodeFrame(Buffer.concat([lengthPrefix((2 << 24) | (1 << 16)), KEY, packedEntry(1n, 0n)])),
    ],
    [
      'a request missing its required header fields',
      encodeFrame(Buffer.from([0x0a, 0x02, 0x08, 0x03])), // header { version: 3 } only
    ],
  ];

  it.each(closingInputs)('closes the connection on %s, and only that one', async (_name, bytes) => {
    const { socket, closed } = await rawConnection(running.port);
    socket.write(bytes);
    expect(await closesWithin(closed, 2000)).toBe(true);
    await healthyRoundTrip();
  });

  it('closes on a frame truncated by the peer hanging up, and frees what it held', async () => {
    const { socket, closed } = await rawConnection(running.port);
    socket.end(Buffer.concat([lengthPrefix(1000), Buffer.alloc(10)]));
    expect(await closesWithin(closed, 2000)).toBe(true);
    await eventually('the connection to be forgotten', () =>
      running.server.connectionCount === 1 ? true : undefined,
    );
    await healthyRoundTrip();
  });

  it('answers the good requests of a connection before the bad frame that closes it', async () => {
    const { socket, closed } = await rawConnection(running.port);
    const responses: number[] = [];
    const decoder = new FrameDecoder((payload) => responses.push(decodeResponse(payload).status));
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    const good: Request = {
      header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.READ_LAC, txnId: 1n },
      readLacRequest: { ledgerId: 42n },
    };
    socket.write(encodeRequestFrame(good));
    await eventually('the good response', () => (responses.length === 1 ? true : undefined));
    socket.write(lengthPrefix(-1));
    expect(await closesWithin(closed, 2000)).toBe(true);
    expect(responses).toEqual([StatusCode.EOK]);
  });

  it('pauses a client that does not read its responses, while others keep being served', async () => {
    // Ledger 43 gets one 256 KiB entry; the stalled client asks for it 400 times (100 MiB of responses).
    const big = packedEntry(43n, 0n, 256 * 1024);
    expect((await healthy.addEntry({ ledgerId: 43n, entryId: 0n, masterKey: KEY, body: big })).status).toBe(
      StatusCode.EOK,
    );
    const { socket, closed } = await rawConnection(running.port);
    socket.pause(); // never reads
    const rssBefore = process.memoryUsage().rss;
    const requests = Array.from({ length: 400 }, (_, i) =>
      encodeRequestFrame({
        header: {
          version: ProtocolVersion.VERSION_THREE,
          operation: OperationType.READ_ENTRY,
          txnId: BigInt(i),
        },
        readRequest: { ledgerId: 43n, entryId: 0n },
      }),
    );
    socket.write(Buffer.concat(requests));
    for (let i = 0; i < 20; i++) await healthyRoundTrip();
    // The bookie holds about its bounds for the stalled client (1 MiB of unsent responses, 16 reads in flight,
    // the kernel's socket buffers), not the 100 MiB it asked for.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(48 * 1024 * 1024);
    socket.destroy();
    await closed;
    await healthyRoundTrip();
  });
});
