/**
 * Goal: bad input never crashes the bookie or disturbs other clients; a bad frame closes only its own
 * connection, and a client that does not read its responses only slows itself down.
 * Method: a real BookieServer (real Journal and DbLedgerStorage) on loopback. Raw sockets send truncated,
 * garbage, oversized and v2 frames; a seeded mutation loop sends over 100,000 mutated frames (bit flips,
 * truncation, lengths 0 / max / 2^31−1 / negative, concatenations, garbage payloads) while a well-behaved
 * client keeps adding and reading on its own connection. We check the server keeps serving, the well-behaved
 * client never fails, no uncaught exception or unhandled rejection happens, and RSS stays bounded.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import {
  DEFAULT_MAX_FRAME_SIZE_BYTES,
  DigestManager,
  DigestType,
  FrameDecoder,
  OperationType,
  ProtocolVersion,
  ReadRequestFlag,
  StatusCode,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeRequestFrame,
  masterKey,
} from '../../../protocol';
import type { Request } from '../../../protocol';
import { BookieClient, TempDirs, eventually } from '../../harness';
import { seededRandom, startBookieServer } from './server-fixture';
import type { RunningBookie } from './server-fixture';

const KEY = masterKey(Buffer.from('pw'));

function entry(ledgerId: bigint, entryId: bigint, payloadBytes = 64): Buffer {
  return DigestManager.create(ledgerId, Buffer.from('pw'), DigestType.CRC32C).packEntry(
    entryId,
    entryId - 1n,
    0n,
    Buffer.alloc(payloadBytes, Number(entryId % 251n)),
  );
}

/** A raw TCP connection: write anything, see when the server closes it. */
async function rawConnection(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.setNoDelay(true);
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed };
}

/** Resolves true if `closed` settles within `ms`, false otherwise. */
function closesWithin(closed: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

describe('bookie > server > bad input', () => {
  const dirs = new TempDirs();
  let running: RunningBookie;
  let healthy: BookieClient;
  let healthyNext = 0n;

  /** The well-behaved client adds an entry and reads it back; it must always work. */
  async function healthyRoundTrip(): Promise<void> {
    const entryId = healthyNext++;
    const body = entry(42n, entryId);
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
    // Ledger 44 is what the fuzzer's reads, lists and long polls look at.
    for (const entryId of [0n, 1n, 2n]) {
      const added = await healthy.addEntry({
        ledgerId: 44n,
        entryId,
        masterKey: KEY,
        body: entry(44n, entryId),
      });
      expect(added.status).toBe(StatusCode.EOK);
    }
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
      encodeFrame(Buffer.concat([lengthPrefix((2 << 24) | (1 << 16)), KEY, entry(1n, 0n)])),
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
    const big = entry(43n, 0n, 256 * 1024);
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

  it('survives 100,000 mutated frames: no crash, the other client keeps working, memory bounded', async () => {
    const faults: unknown[] = [];
    const onFault = (error: unknown): void => {
      faults.push(error);
    };
    process.on('uncaughtException', onFault);
    process.on('unhandledRejection', onFault);
    const rssBaseline = process.memoryUsage().rss;
    let rssMax = rssBaseline;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }, 50);
    const fuzzer = new FrameFuzzer(0x5eed);
    let framesSent = 0;
    let healthyRounds = 0;
    let fuzzing = true;
    const healthyLoop = (async () => {
      while (fuzzing) {
        await healthyRoundTrip();
        healthyRounds++;
        await new Promise((resolve) => setTimeout(resolve, 5)); // pacing: leave the CPU to the fuzzer
      }
    })();
    const workers = Array.from({ length: 16 }, async () => {
      let connection: FuzzConnection | undefined;
      while (framesSent < 100_000) {
        connection ??= await FuzzConnection.open(running.port);
        const batch = fuzzer.next();
        framesSent += batch.frames;
        const survived = await connection.send(batch.bytes, batch.complete);
        if (!survived) connection = undefined;
      }
      connection?.destroy();
    });
    try {
      await Promise.all(workers);
    } finally {
      fuzzing = false;
      await healthyLoop;
      clearInterval(sampler);
      process.off('uncaughtException', onFault);
      process.off('unhandledRejection', onFault);
    }
    expect(framesSent).toBeGreaterThanOrEqual(100_000);
    expect(faults).toEqual([]);
    expect(healthyRounds).toBeGreaterThan(0);
    expect(healthy.open).toBe(true);
    await healthyRoundTrip();
    expect(rssMax - rssBaseline).toBeLessThan(512 * 1024 * 1024);
    await eventually('fuzz connections to close', () =>
      running.server.connectionCount === 1 ? true : undefined,
    );
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------------------
// The mutation loop

const PROBE_TXN_ID = (1n << 64n) - 7n;

/** A READ_LAC whose answer tells the fuzzer the server read every frame before it. */
const PROBE = encodeRequestFrame({
  header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.READ_LAC, txnId: PROBE_TXN_ID },
  readLacRequest: { ledgerId: 44n },
});

interface FuzzBatch {
  bytes: Buffer;
  /** Mutated frames in the batch. */
  frames: number;
  /** The bytes end on a frame boundary with every length acceptable: a probe after them gets an answer. */
  complete: boolean;
}

const INT64_EDGES = [0n, -1n, 1n, (1n << 63n) - 1n, -(1n << 63n), 0x1000n, -0x1000n, -0x2000n];
const FRAMES_PER_BATCH_MAX = 8;

/**
 * Mutates valid requests of every operation. The server must examine every frame we count, so a batch holds
 * frames the codec accepts (the server answers them) and ends at the first one it rejects (the server closes
 * the connection there): the fuzzer decodes its own frames with the same codec to know which is which.
 */
class FrameFuzzer {
  private readonly random: () => number;
  private readonly requests: Request[];

  constructor(seed: number) {
    this.random = seededRandom(seed);
    const header = (operation: OperationType, txnId: bigint): Request['header'] => ({
      version: ProtocolVersion.VERSION_THREE,
      operation,
      txnId,
    });
    this.requests = [
      {
        header: header(OperationType.ADD_ENTRY, 1n),
        addRequest: { ledgerId: 500n, entryId: 0n, masterKey: KEY, body: entry(500n, 0n) },
      },
      { header: header(OperationType.READ_ENTRY, 2n), readRequest: { ledgerId: 44n, entryId: 0n } },
      {
        header: header(OperationType.READ_ENTRY, 3n),
        readRequest: { ledgerId: 501n, entryId: -1n, masterKey: KEY, flag: ReadRequestFlag.FENCE_LEDGER },
      },
      {
        header: header(OperationType.READ_ENTRY, 4n),
        readRequest: {
          ledgerId: 44n,
          entryId: -1n,
          previousLAC: 0n,
          timeOut: 50n,
          flag: ReadRequestFlag.ENTRY_PIGGYBACK,
        },
      },
      {
        header: header(OperationType.WRITE_LAC, 5n),
        writeLacRequest: { ledgerId: 502n, lac: 0n, masterKey: KEY, body: Buffer.alloc(20) },
      },
      { header: header(OperationType.READ_LAC, 6n), readLacRequest: { ledgerId: 44n } },
      { header: header(OperationType.GET_BOOKIE_INFO, 7n), getBookieInfoRequest: { requested: 3n } },
      { header: header(OperationType.FORCE_LEDGER, 8n), forceLedgerRequest: { ledgerId: 44n } },
      {
        header: header(OperationType.GET_LIST_OF_ENTRIES_OF_LEDGER, 9n),
        getListOfEntriesOfLedgerRequest: { ledgerId: 44n },
      },
      {
        header: header(OperationType.AUTH, 10n),
        authRequest: { authPluginName: 'AuthDisabledPlugin', payload: Buffer.alloc(3) },
      },
    ];
  }

  next(): FuzzBatch {
    const parts: Buffer[] = [];
    let complete = true;
    // Concatenations: several mutated frames in one write, up to the first one the server will reject.
    while (parts.length < FRAMES_PER_BATCH_MAX) {
      const frame = this.mutate(this.requests[this.int(this.requests.length)]!);
      parts.push(frame);
      complete = framesComplete(frame);
      if (!complete || !decodable(frame) || this.random() < 0.3) break;
    }
    return { bytes: Buffer.concat(parts), frames: parts.length, complete };
  }

  private mutate(request: Request): Buffer {
    const choice = this.random();
    if (choice < 0.35) return this.mutateFields(request);
    const frame = encodeRequestFrame(request);
    if (choice < 0.55) {
      // Bits flipped in the payload only: the length stays right, the message goes wrong (or stays valid).
      const flips = 1 + this.int(3);
      for (let i = 0; i < flips; i++) frame[4 + this.int(frame.length - 4)]! ^= 1 << this.int(8);
      return frame;
    }
    if (choice < 0.65) {
      // Bits flipped anywhere, length prefix included.
      const flips = 1 + this.int(8);
      for (let i = 0; i < flips; i++) frame[this.int(frame.length)]! ^= 1 << this.int(8);
      return frame;
    }
    if (choice < 0.75) return frame.subarray(0, this.int(frame.length)); // truncated
    if (choice < 0.85) {
      const lengths = [
        0,
        DEFAULT_MAX_FRAME_SIZE_BYTES,
        DEFAULT_MAX_FRAME_SIZE_BYTES + 1,
        0x7fff_ffff,
        -1,
        this.int(frame.length),
      ];
      frame.writeInt32BE(lengths[this.int(lengths.length)]!, 0);
      return frame;
    }
    if (choice < 0.95) {
      // Garbage under a correct length.
      const garbage = Buffer.alloc(1 + this.int(200));
      for (let i = 0; i < garbage.length; i++) garbage[i] = this.int(256);
      return encodeFrame(garbage);
    }
    return encodeFrame(frame); // a frame nested in a frame
  }

  /** A well-formed request with hostile values: edge ids, odd versions, operations and priorities. */
  private mutateFields(request: Request): Buffer {
    const header = { ...request.header };
    const mutated: Record<string, unknown> = { ...request, header };
    const roll = this.int(4);
    if (roll === 0) header.version = this.int(6);
    else if (roll === 1) header.operation = this.int(14);
    else if (roll === 2) header.priority = this.int(2) === 0 ? 0 : 0xffff_ffff;
    const inner = Object.keys(mutated).find((key) => key.endsWith('Request'));
    const sub = inner === undefined ? undefined : { ...(mutated[inner] as Record<string, unknown>) };
    if (inner !== undefined && sub !== undefined) {
      mutated[inner] = sub;
      for (const key of Object.keys(sub)) {
        if (typeof sub[key] === 'bigint' && this.random() < 0.5)
          sub[key] = INT64_EDGES[this.int(INT64_EDGES.length)];
      }
    }
    return encodeRequestFrame(mutated as unknown as Request);
  }

  private int(bound: number): number {
    return Math.floor(this.random() * bound);
  }
}

/** Whether the server's codec accepts every frame in `bytes` (so it answers rather than closes). */
function decodable(frame: Buffer): boolean {
  try {
    decodeRequest(frame.subarray(4));
    return true;
  } catch {
    return false;
  }
}

/** Whether a byte stream is whole frames with acceptable lengths (so the server will read a probe after it). */
function framesComplete(bytes: Buffer): boolean {
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 4) return false;
    const length = bytes.readInt32BE(pos);
    if (length < 0 || length > DEFAULT_MAX_FRAME_SIZE_BYTES) return false;
    pos += 4 + length;
  }
  return pos === bytes.length;
}

/**
 * One fuzzing connection. `send` writes a batch and resolves true if the server answered the probe after it
 * (the connection survived), false once the server closed it. A batch that ends mid-frame is followed by a
 * half-close, which the server must answer by closing.
 */
class FuzzConnection {
  private probeAnswered: (() => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly closed: Promise<void>,
  ) {
    const decoder = new FrameDecoder((payload) => {
      const response = decodeResponse(payload);
      if (response.header.txnId === PROBE_TXN_ID && response.header.operation === OperationType.READ_LAC) {
        this.probeAnswered?.();
      }
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  static async open(port: number): Promise<FuzzConnection> {
    const { socket, closed } = await rawConnection(port);
    return new FuzzConnection(socket, closed);
  }

  async send(bytes: Buffer, complete: boolean): Promise<boolean> {
    const answered = new Promise<boolean>((resolve) => {
      this.probeAnswered = () => resolve(true);
    });
    if (complete) {
      this.socket.write(Buffer.concat([bytes, PROBE]));
    } else {
      this.socket.end(bytes);
    }
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer and no close within 10 s after ${bytes.toString('hex')}`)),
        10_000,
      );
    });
    const survived = await Promise.race([answered, this.closed.then(() => false), stalled]).finally(() =>
      clearTimeout(timer),
    );
    this.probeAnswered = undefined;
    if (!survived) this.socket.destroy();
    return survived;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
