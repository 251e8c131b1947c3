/**
 * Goal: a bookie survives a stream of mutated v3 frames (issue 3: at least 100,000) without crashing, leaking
 * connections or memory, while a well-behaved client on another connection keeps adding and reading.
 * Method: the bare bookie process (test/fixtures/bookie-process.js: real Journal and DbLedgerStorage) on
 * loopback, so the fuzzer and the bookie each have a core. Sixteen connections send seeded mutations of valid
 * requests of every operation (field values at the int64 edges, odd versions and operations, bit flips,
 * truncation, lengths 0 / max / 2^31−1 / negative, concatenations, garbage payloads, nested frames). Every batch
 * ends either in a probe the bookie must answer (it read every frame before it) or at the first frame it must
 * reject, after which it must close the connection. Four frames in five keep a valid shape with hostile values,
 * one in five is broken bytes; each broken frame costs a connection (about 17,000 here), so their share is what
 * keeps the run's connection churn, and its time on a slow CI machine, in check. Observed from outside, as an operator would: the process
 * is still running, the healthy client never failed, the bookie's peak RSS (VmHWM) grew by less than 512 MiB,
 * and its open sockets return to what they were before the fuzzing.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import {
  DEFAULT_MAX_FRAME_SIZE_BYTES,
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
import {
  BookieClient,
  eventually,
  rawConnection,
  requireBuiltBookie,
  seededRandom,
  startBareBookie,
  TempDirs,
} from '../../harness';
import type { BookieProcess } from '../../harness';
import { packedEntry } from './server-fixture';

const KEY = masterKey(Buffer.from('pw'));
const FRAMES = 100_000;
const CONNECTIONS = 16;

/** The bookie's peak resident set (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  if (line === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

/** How many sockets the bookie process holds open (listening and connected). */
function openSockets(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the readlink
    }
  }
  return sockets;
}

describe('bookie > server > fuzzing', () => {
  const dirs = new TempDirs();
  let bookie: BookieProcess;
  let healthy: BookieClient;
  let healthyNext = 0n;

  /** The well-behaved client adds an entry and reads it back; it must always work. */
  async function healthyRoundTrip(): Promise<void> {
    const entryId = healthyNext++;
    const body = packedEntry(42n, entryId);
    const added = await healthy.addEntry({ ledgerId: 42n, entryId, masterKey: KEY, body });
    if (added.status !== StatusCode.EOK) throw new Error(`healthy add ${entryId} answered ${added.status}`);
    const read = await healthy.readEntry(42n, entryId);
    if (read.status !== StatusCode.EOK || !read.readResponse?.body?.equals(body)) {
      throw new Error(`healthy read ${entryId} answered ${read.status} with other bytes than were added`);
    }
  }

  beforeAll(async () => {
    requireBuiltBookie();
    bookie = await startBareBookie(dirs.make('bookie-fuzz-'), [
      'journalPreAllocSizeMB=1',
      'dbStorage_writeCacheMaxSizeMb=16',
      'dbStorage_readAheadCacheMaxSizeMb=16',
    ]);
    healthy = await BookieClient.connect(bookie.port);
    await healthyRoundTrip();
    // Ledger 44 is what the fuzzer's reads, lists and long polls look at.
    for (const entryId of [0n, 1n, 2n]) {
      const added = await healthy.addEntry({
        ledgerId: 44n,
        entryId,
        masterKey: KEY,
        body: packedEntry(44n, entryId),
      });
      expect(added.status).toBe(StatusCode.EOK);
    }
  });

  afterAll(async () => {
    await healthy?.close();
    await bookie?.stop('SIGKILL');
    dirs.removeAll();
  });

  it(`survives ${FRAMES.toLocaleString('en')} mutated frames: no crash, the other client keeps working, no leaks`, async () => {
    const socketsBefore = openSockets(bookie.pid);
    const rssBefore = peakRss(bookie.pid);
    const fuzzer = new FrameFuzzer(0x5eed);
    let framesSent = 0;
    let healthyRounds = 0;
    let fuzzing = true;
    const healthyLoop = (async () => {
      try {
        while (fuzzing) {
          await healthyRoundTrip();
          healthyRounds++;
          await new Promise((resolve) => setTimeout(resolve, 5)); // pacing: leave the CPU to the fuzzer
        }
      } finally {
        fuzzing = false; // a failure stops the fuzzers too
      }
    })();
    const workers = Array.from({ length: CONNECTIONS }, async () => {
      let connection: FuzzConnection | undefined;
      try {
        while (fuzzing && framesSent < FRAMES) {
          connection ??= await FuzzConnection.open(bookie.port);
          const batch = fuzzer.next();
          framesSent += batch.frames;
          const survived = await connection.send(batch.bytes, batch.complete);
          if (!survived) connection = undefined;
        }
      } finally {
        connection?.destroy();
      }
    });
    const outcomes = await Promise.allSettled(workers);
    fuzzing = false;
    await healthyLoop;
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;

    expect(bookie.running()).toBe(true);
    expect(framesSent).toBeGreaterThanOrEqual(FRAMES);
    expect(healthyRounds).toBeGreaterThan(0);
    await healthyRoundTrip();
    expect(peakRss(bookie.pid) - rssBefore).toBeLessThan(512 * 1024 * 1024);
    await eventually('the fuzzing connections to be closed by the bookie', () =>
      openSockets(bookie.pid) === socketsBefore ? true : undefined,
    );
  }, 300_000);
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
        addRequest: { ledgerId: 500n, entryId: 0n, masterKey: KEY, body: packedEntry(500n, 0n) },
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
    if (choice < 0.8) return this.mutateFields(request);
    const frame = encodeRequestFrame(request);
    if (choice < 0.88) {
      // Bits flipped in the payload only: the length stays right, the message goes wrong (or stays valid).
      const flips = 1 + this.int(3);
      for (let i = 0; i < flips; i++) frame[4 + this.int(frame.length - 4)]! ^= 1 << this.int(8);
      return frame;
    }
    if (choice < 0.9) {
      // Bits flipped anywhere, length prefix included.
      const flips = 1 + this.int(8);
      for (let i = 0; i < flips; i++) frame[this.int(frame.length)]! ^= 1 << this.int(8);
      return frame;
    }
    if (choice < 0.92) return frame.subarray(0, this.int(frame.length)); // truncated
    if (choice < 0.95) {
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
    if (choice < 0.98) {
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
