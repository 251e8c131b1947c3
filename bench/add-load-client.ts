/*
 * The write benchmarks' load client: ADD_ENTRY requests over one connection, made as cheap as possible for the
 * client process, because on the machine's two cores the client's CPU is taken from the server it measures.
 *
 * It sends what the test harness's BookieClient sends for `addsTo` (the same frames, byte for byte: a v3 Request
 * { header { version 3, ADD_ENTRY, txnId }, addRequest { ledgerId, entryId, masterKey, body } }, the body a
 * CRC32C-digested packed entry with lastAddConfirmed = entryId - 1 and length 0), at a fraction of the cost:
 *
 *   - per ledger, a template of the frame's tail — the masterKey field and the body field with ledgerId, length
 *     and payload in place — copied into the batch buffer with one memcpy per add; the fields before it (frame
 *     length, header with the txnId, ledgerId, entryId) are written as varints, and entryId, lastAddConfirmed and
 *     the digest are patched into the copied body;
 *   - the digest without hashing the entry again: CRC32C is affine over GF(2), so for one length
 *     crc(H ⊕ D) = crc(H) ⊕ crc(D) ⊕ crc(0). Per ledger, crc of its packed entry with entryId and
 *     lastAddConfirmed zeroed is computed once; per add the 16 bytes of those two fields each add a table
 *     entry T_j[byte] = crc(that byte alone at position j) ⊕ crc(0), 16 lookups in all. The tables depend
 *     on the entry's length only. Every DIGEST_CHECK_INTERVAL-th add, and a set of edge-case ids when a ledger
 *     is first used, are checked against DigestManager.packEntry + encodeRequestFrame: a wrong frame stops the
 *     benchmark rather than skewing it;
 *   - frames go out BATCH_FRAMES_MAX (or BATCH_BYTES_MAX) per socket write, the rest at the end of the tick,
 *     so the server starts on the first requests while the client writes the next ones (performance.md: this
 *     streaming beat one write of the whole window by 27%);
 *   - of each response only the header's txnId and the status are read; other fields are skipped unparsed.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { crc32c } from '@node-rs/crc32';
import {
  DigestManager,
  DigestType,
  FRAME_LENGTH_BYTES,
  OperationType,
  ProtocolVersion,
  StatusCode,
  encodeRequestFrame,
  masterKey,
} from '../protocol';
import type { Issue } from './bookie-load';

const BATCH_FRAMES_MAX = 64;
const BATCH_BYTES_MAX = 1024 * 1024;
/** Frames checked against the protocol module's encoder during a run: one in this many. */
const DIGEST_CHECK_INTERVAL = 4096;
/** Largest response frame the reader accepts (an add response is a few dozen bytes). */
const RESPONSE_BYTES_MAX = 64 * 1024;

const ENTRY_HEADER_BYTES = 32;
const CRC32C_BYTES = 4;
/** entryId (offset 8) and lastAddConfirmed (offset 16): the bytes of a packed entry that change per add. */
const VARIABLE_OFFSET = 8;
const VARIABLE_BYTES = 16;
const TWO_POW_32 = 0x1_0000_0000;

/** Bytes a varint of a non-negative safe integer takes. */
function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = value < TWO_POW_32 ? value >>> 7 : Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/**
 * T_j[b] for the 16 variable bytes of packed entries of one length: the CRC32C change that byte value b at
 * position VARIABLE_OFFSET + j makes, whatever the other bytes are. Built from the 8 single-bit changes of
 * each position (linearity), 128 CRCs of a zero entry.
 */
class CrcTables {
  private static readonly byLength = new Map<number, Uint32Array>();

  static forLength(entryBytes: number): Uint32Array {
    let tables = CrcTables.byLength.get(entryBytes);
    if (tables === undefined) {
      tables = CrcTables.build(entryBytes);
      CrcTables.byLength.set(entryBytes, tables);
    }
    return tables;
  }

  private static build(entryBytes: number): Uint32Array {
    const tables = new Uint32Array(VARIABLE_BYTES * 256);
    const zero = Buffer.alloc(entryBytes);
    const crcOfZero = crc32c(zero);
    for (let j = 0; j < VARIABLE_BYTES; j++) {
      const bits: number[] = [];
      for (let bit = 0; bit < 8; bit++) {
        zero[VARIABLE_OFFSET + j] = 1 << bit;
        bits.push((crc32c(zero) ^ crcOfZero) >>> 0);
      }
      zero[VARIABLE_OFFSET + j] = 0;
      for (let value = 1; value < 256; value++) {
        let change = 0;
        for (let bit = 0; bit < 8; bit++) if (value & (1 << bit)) change ^= bits[bit]!;
        tables[j * 256 + value] = change >>> 0;
      }
    }
    return tables;
  }
}

/** One ledger's adds: its frame tail template, the CRC of its packed entry with zeroed ids, the next entry id. */
class LedgerAdds {
  nextEntryId = 0;
  /** Varint of ledgerId, behind its field key, as written in every frame. */
  readonly ledgerField: Buffer;
  /** masterKey field, then the body field with the packed entry (entryId, LAC and digest to be patched). */
  readonly tail: Buffer;
  /** Offset of the packed entry within `tail`. */
  readonly bodyOffset: number;
  private readonly crcOfZeroedIds: number;
  private readonly tables: Uint32Array;

  constructor(
    readonly ledgerId: number,
    readonly digest: DigestManager,
    readonly masterKey: Buffer,
    readonly payload: Buffer,
  ) {
    const entryBytes = ENTRY_HEADER_BYTES + CRC32C_BYTES + payload.length;
    this.ledgerField = Buffer.alloc(1 + varintBytes(ledgerId));
    this.ledgerField[0] = 0x08;
    writeVarint(this.ledgerField, 1, ledgerId);
    this.bodyOffset = 2 + masterKey.length + 1 + varintBytes(entryBytes);
    this.tail = Buffer.alloc(this.bodyOffset + entryBytes);
    let pos = 0;
    this.tail[pos++] = 0x1a;
    pos = writeVarint(this.tail, pos, masterKey.length);
    pos += masterKey.copy(this.tail, pos);
    this.tail[pos++] = 0x22;
    pos = writeVarint(this.tail, pos, entryBytes);
    const body = this.tail.subarray(this.bodyOffset);
    body.writeBigInt64BE(BigInt(ledgerId), 0);
    // entryId (8) and lastAddConfirmed (16) stay zero here; length (24) is 0 as addsTo sends it.
    payload.copy(body, ENTRY_HEADER_BYTES + CRC32C_BYTES);
    // The digest covers header ‖ payload (the packed entry without its digest field).
    const digested = Buffer.concat([body.subarray(0, ENTRY_HEADER_BYTES), payload]);
    this.crcOfZeroedIds = crc32c(digested);
    this.tables = CrcTables.forLength(digested.length);
  }

  /** The CRC32C of this ledger's packed entry for `entryId` (lastAddConfirmed = entryId - 1). */
  digestOf(entryHi: number, entryLo: number, lacHi: number, lacLo: number): number {
    const t = this.tables;
    return (
      (this.crcOfZeroedIds ^
        t[entryHi >>> 24]! ^
        t[256 + ((entryHi >>> 16) & 0xff)]! ^
        t[512 + ((entryHi >>> 8) & 0xff)]! ^
        t[768 + (entryHi & 0xff)]! ^
        t[1024 + (entryLo >>> 24)]! ^
        t[1280 + ((entryLo >>> 16) & 0xff)]! ^
        t[1536 + ((entryLo >>> 8) & 0xff)]! ^
        t[1792 + (entryLo & 0xff)]! ^
        t[2048 + (lacHi >>> 24)]! ^
        t[2304 + ((lacHi >>> 16) & 0xff)]! ^
        t[2560 + ((lacHi >>> 8) & 0xff)]! ^
        t[2816 + (lacHi & 0xff)]! ^
        t[3072 + (lacLo >>> 24)]! ^
        t[3328 + ((lacLo >>> 16) & 0xff)]! ^
        t[3584 + ((lacLo >>> 8) & 0xff)]! ^
        t[3840 + (lacLo & 0xff)]!) >>>
      0
    );
  }

  /** Upper bound of one frame's size. */
  get frameBytesMax(): number {
    // length prefix, header field (key, length, version, operation, txnId key + up to 8 varint bytes), the
    // addRequest key (2) and length (up to 4), ledgerId, entryId key + up to 8 varint bytes, the tail.
    return FRAME_LENGTH_BYTES + 2 + 4 + 1 + 8 + 2 + 4 + this.ledgerField.length + 1 + 8 + this.tail.length;
  }
}

/** Reads the add responses out of the received bytes: txnId and status of each, nothing else decoded. */
class AddResponseReader {
  private rest: Buffer | undefined;

  constructor(private readonly onResponse: (txnId: number, status: number) => void) {}

  /** Consumes one chunk; throws on a malformed frame (the connection is then dropped). */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let pos = 0;
    while (buf.length - pos >= FRAME_LENGTH_BYTES) {
      const length = buf.readInt32BE(pos);
      if (length <= 0 || length > RESPONSE_BYTES_MAX) throw new Error(`bad response frame length ${length}`);
      if (buf.length - pos - FRAME_LENGTH_BYTES < length) break;
      this.readResponse(buf, pos + FRAME_LENGTH_BYTES, pos + FRAME_LENGTH_BYTES + length);
      pos += FRAME_LENGTH_BYTES + length;
    }
    if (pos < buf.length) this.rest = buf.subarray(pos);
  }

  /** Response: header = 1 (txnId = 3 inside), status = 2; every other field skipped by its wire type. */
  private readResponse(buf: Buffer, start: number, end: number): void {
    let txnId = -1;
    let status = -1;
    let pos = start;
    while (pos < end) {
      const key = buf[pos++]!;
      if (key === 0x0a) {
        const [length, at] = readVarint(buf, pos, end);
        const headerEnd = at + length;
        if (headerEnd > end) throw new Error('response header overruns its frame');
        pos = at;
        while (pos < headerEnd) {
          const headerKey = buf[pos++]!;
          if (headerKey === 0x18) [txnId, pos] = readVarint(buf, pos, headerEnd);
          else pos = skipField(buf, pos, headerEnd, headerKey);
        }
      } else if (key === 0x10) {
        let value: number;
        [value, pos] = readVarint(buf, pos, end);
        status = value;
      } else {
        pos = skipField(buf, pos, end, key);
      }
    }
    if (txnId < 0 || status < 0) throw new Error('response without txnId or status');
    this.onResponse(txnId, status);
  }
}

/** A varint as a number (exact below 2^53, which txnIds and status codes are); [value, position after]. */
function readVarint(buf: Buffer, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= end) throw new Error('truncated varint in a response');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
    if (scale > 2 ** 63) throw new Error('varint longer than 10 bytes in a response');
  }
}

/** Skips the value of a field whose key (one byte, or more for field numbers ≥ 16) began at pos - 1. */
function skipField(buf: Buffer, pos: number, end: number, firstKeyByte: number): number {
  let key = firstKeyByte;
  if (key >= 0x80) {
    let more: number;
    [more, pos] = readVarint(buf, pos, end);
    key = (key & 0x7f) + more * 128;
  }
  switch (key & 7) {
    case 0:
      return readVarint(buf, pos, end)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [length, at] = readVarint(buf, pos, end);
      if (at + length > end) throw new Error('response field overruns its frame');
      return at + length;
    }
    case 5:
      return pos + 4;
    default:
      throw new Error(`wire type ${key & 7} in a response`);
  }
}

export class AddLoadClient {
  readonly closed: Promise<void>;
  private readonly reader: AddResponseReader;
  private readonly pending = new Map<number, (error?: Error) => void>();
  private nextTxnId = 1;
  private batch: Buffer | undefined;
  /** Batch buffers the socket has finished writing, for reuse: a new one per batch made GC work (see flush). */
  private readonly freeBatches: Buffer[] = [];
  private batchBytes = 0;
  private batchFrames = 0;
  private flushScheduled = false;
  private failure: Error | undefined;
  private addsWritten = 0;

  private constructor(private readonly socket: Socket) {
    this.reader = new AddResponseReader((txnId, status) => this.onResponse(txnId, status));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on('error', (error) => this.fail(error));
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.fail(new Error('connection closed'));
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<AddLoadClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new AddLoadClient(socket));
      });
    });
  }

  /**
   * Adds to `ledgerCount` ledgers (ids from `firstLedgerId`) in turn, entry ids in order per ledger, each entry
   * packed with its CRC32C digest as a real writer does (password `password`, lastAddConfirmed = entryId - 1).
   */
  adds(options: { firstLedgerId: number; ledgerCount: number; payload: Buffer; password: Buffer }): Issue {
    const { firstLedgerId, ledgerCount, payload, password } = options;
    const key = masterKey(password);
    const ledgers = Array.from({ length: ledgerCount }, (_, i) => {
      const ledgerId = firstLedgerId + i;
      const digest = DigestManager.create(BigInt(ledgerId), password, DigestType.CRC32C);
      const ledger = new LedgerAdds(ledgerId, digest, key, payload);
      selfCheck(ledger);
      return ledger;
    });
    return (i, done) => this.add(ledgers[i % ledgerCount]!, done);
  }

  async close(): Promise<void> {
    this.flush();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await this.closed;
    clearTimeout(timer);
  }

  private add(ledger: LedgerAdds, done: (error?: Error) => void): void {
    if (this.failure !== undefined) {
      const failure = this.failure;
      process.nextTick(() => done(failure));
      return;
    }
    const txnId = this.nextTxnId++;
    const entryId = ledger.nextEntryId++;
    const frameBytesMax = ledger.frameBytesMax;
    if (this.batch !== undefined && this.batchBytes + frameBytesMax > this.batch.length) this.flush();
    if (this.batch === undefined) {
      const size = Math.max(frameBytesMax, Math.min(BATCH_FRAMES_MAX * frameBytesMax, BATCH_BYTES_MAX));
      let reused = this.freeBatches.pop();
      while (reused !== undefined && reused.length < size) reused = this.freeBatches.pop();
      this.batch = reused ?? Buffer.allocUnsafe(size);
      this.batchBytes = 0;
    }
    const start = this.batchBytes;
    const end = writeAddFrame(this.batch, start, ledger, txnId, entryId);
    this.batchBytes = end;
    if (++this.addsWritten % DIGEST_CHECK_INTERVAL === 0) {
      checkFrame(this.batch.subarray(start, end), ledger, txnId, entryId);
    }
    this.pending.set(txnId, done);
    if (++this.batchFrames >= BATCH_FRAMES_MAX) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.batch === undefined || this.batchBytes === 0) return;
    // The socket keeps the buffer until it is written; then it goes back to the free list. A fresh buffer per
    // batch (off-heap, ~70 KiB per 64 adds) drove the client's V8 into a mark-compact every ~150 ms at 30k
    // adds/s, and its pauses (4-11 ms) were counted as add latency by the open loop.
    const batch = this.batch;
    this.socket.write(batch.subarray(0, this.batchBytes), () => this.freeBatches.push(batch));
    this.batch = undefined;
    this.batchBytes = 0;
    this.batchFrames = 0;
  }

  private onResponse(txnId: number, status: number): void {
    const done = this.pending.get(txnId);
    if (done === undefined) {
      this.fail(new Error(`response for unknown txnId ${txnId}`));
      return;
    }
    this.pending.delete(txnId);
    if (status === StatusCode.EOK) done();
    else done(new Error(`add answered ${StatusCode[status] ?? status}`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const done of waiting) done(this.failure);
    this.socket.destroy();
  }
}

/**
 * Writes the framed AddRequest for (ledger, entryId) with `txnId` at `pos`; returns the end. The bytes are the
 * protocol encoder's (fields in ascending number, canonical varints): see `checkFrame`.
 */
function writeAddFrame(buf: Buffer, pos: number, ledger: LedgerAdds, txnId: number, entryId: number): number {
  const headerBytes = 2 + 2 + 1 + varintBytes(txnId);
  const addBytes = ledger.ledgerField.length + 1 + varintBytes(entryId) + ledger.tail.length;
  const frameBytes = 2 + headerBytes + 2 + varintBytes(addBytes) + addBytes;
  buf.writeUInt32BE(frameBytes, pos);
  pos += FRAME_LENGTH_BYTES;
  buf[pos++] = 0x0a;
  buf[pos++] = headerBytes;
  buf[pos++] = 0x08;
  buf[pos++] = ProtocolVersion.VERSION_THREE;
  buf[pos++] = 0x10;
  buf[pos++] = OperationType.ADD_ENTRY;
  buf[pos++] = 0x18;
  pos = writeVarint(buf, pos, txnId);
  buf[pos++] = 0xaa; // field 101 (addRequest), length-delimited: a two-byte key
  buf[pos++] = 0x06;
  pos = writeVarint(buf, pos, addBytes);
  pos += ledger.ledgerField.copy(buf, pos);
  buf[pos++] = 0x10;
  pos = writeVarint(buf, pos, entryId);
  const body = pos + ledger.bodyOffset;
  pos += ledger.tail.copy(buf, pos);
  const entryHi = Math.floor(entryId / TWO_POW_32);
  const entryLo = entryId >>> 0;
  // lastAddConfirmed = entryId - 1, as a two's-complement int64 (-1 for the first entry).
  const lacHi = entryId === 0 ? 0xffff_ffff : Math.floor((entryId - 1) / TWO_POW_32);
  const lacLo = entryId === 0 ? 0xffff_ffff : (entryId - 1) >>> 0;
  buf.writeUInt32BE(entryHi, body + 8);
  buf.writeUInt32BE(entryLo, body + 12);
  buf.writeUInt32BE(lacHi, body + 16);
  buf.writeUInt32BE(lacLo, body + 20);
  buf.writeUInt32BE(ledger.digestOf(entryHi, entryLo, lacHi, lacLo), body + ENTRY_HEADER_BYTES);
  return pos;
}

/** Throws unless `frame` is exactly what DigestManager.packEntry and encodeRequestFrame make of this add. */
function checkFrame(frame: Buffer, ledger: LedgerAdds, txnId: number, entryId: number): void {
  const id = BigInt(entryId);
  const expected = encodeRequestFrame({
    header: {
      version: ProtocolVersion.VERSION_THREE,
      operation: OperationType.ADD_ENTRY,
      txnId: BigInt(txnId),
    },
    addRequest: {
      ledgerId: BigInt(ledger.ledgerId),
      entryId: id,
      masterKey: ledger.masterKey,
      body: ledger.digest.packEntry(id, id - 1n, 0n, ledger.payload),
    },
  });
  if (!frame.equals(expected)) {
    throw new Error(
      `load client: the frame of ledger ${ledger.ledgerId} entry ${entryId} differs from the encoder's`,
    );
  }
}

/** Checks a new ledger's frames at the edges of each varint and int64 half, before the ledger is used. */
function selfCheck(ledger: LedgerAdds): void {
  const ids = [0, 1, 127, 128, 255, 256, 16383, 16384, 0xffff_ffff, TWO_POW_32, TWO_POW_32 + 1, 2 ** 53 - 2];
  for (const [i, entryId] of ids.entries()) {
    const txnId = [1, 127, 128, 2 ** 35, 2 ** 53 - 1][i % 5]!;
    const buf = Buffer.alloc(ledger.frameBytesMax);
    const end = writeAddFrame(buf, 0, ledger, txnId, entryId);
    checkFrame(buf.subarray(0, end), ledger, txnId, entryId);
  }
}
