/*
 * The yardstick of the bookie write benchmark: a bare Node journal server as shared/reference/performance.md
 * describes it, run in the same benchmark so the bookie's figure can be read beside it on the same machine at
 * the same moment (these VMs vary by ±25% and more between runs, and by 2x between days).
 *
 *   node dist/bench/yardstick-child.js <dir>      prints {"port":N} when listening; SIGTERM ends it
 *
 * What it does per add, and nothing else: length framing, v3 decode, master-key check (stored on first
 * contact), copy into a journal buffer; group commit at the end of each event-loop turn (writeSync + one
 * fdatasyncSync into a preallocated, zero-filled file); then one batched socket write of the responses per
 * connection. No index, no write cache, no entry logs, no metrics, no replay: an upper bound for what a Node
 * bookie can do here, not a bookie.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import {
  FrameDecoder,
  StatusCode,
  decodeRequest,
  encodeAddResponseFrame,
  type BKPacketHeader,
} from '../protocol';

const FILE_BYTES = 256 * 1024 * 1024;
const MIB = 1024 * 1024;

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: yardstick-child.js <dir>');
mkdirSync(dir, { recursive: true });
const fd = openSync(join(dir, 'journal.bin'), 'w+');
const zeros = Buffer.alloc(MIB);
for (let at = 0; at < FILE_BYTES; at += MIB) writeSync(fd, zeros, 0, MIB, at);
fdatasyncSync(fd);

let journal = Buffer.allocUnsafe(4 * MIB);
let journalBytes = 0;
let filePosition = 0;
const masterKeys = new Map<bigint, Buffer>();

interface Pending {
  socket: Socket;
  header: BKPacketHeader;
  status: StatusCode;
  ledgerId: bigint;
  entryId: bigint;
}
let group: Pending[] = [];
let flushScheduled = false;

function append(body: Buffer): void {
  const needed = journalBytes + 4 + body.length;
  if (needed > journal.length) {
    const bigger = Buffer.allocUnsafe(Math.max(needed, journal.length * 2));
    journal.copy(bigger, 0, 0, journalBytes);
    journal = bigger;
  }
  journal.writeUInt32BE(body.length, journalBytes);
  body.copy(journal, journalBytes + 4);
  journalBytes = needed;
}

function flush(): void {
  flushScheduled = false;
  if (journalBytes > 0) {
    if (filePosition + journalBytes > FILE_BYTES) filePosition = 0;
    let done = 0;
    while (done < journalBytes) {
      done += writeSync(fd, journal, done, journalBytes - done, filePosition + done);
    }
    fdatasyncSync(fd);
    filePosition += journalBytes;
    journalBytes = 0;
  }
  const done = group;
  group = [];
  const corked = new Set<Socket>();
  for (const p of done) {
    if (p.socket.destroyed) continue;
    if (!corked.has(p.socket)) {
      p.socket.cork();
      corked.add(p.socket);
    }
    p.socket.write(
      encodeAddResponseFrame(p.header, p.status, {
        status: p.status,
        ledgerId: p.ledgerId,
        entryId: p.entryId,
      }),
    );
  }
  for (const socket of corked) socket.uncork();
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  const decoder = new FrameDecoder((payload) => {
    const request = decodeRequest(payload);
    const add = request.addRequest;
    if (add === undefined) {
      socket.destroy();
      return;
    }
    const known = masterKeys.get(add.ledgerId);
    let status = StatusCode.EOK;
    if (known === undefined) masterKeys.set(add.ledgerId, Buffer.from(add.masterKey));
    else if (!known.equals(add.masterKey)) status = StatusCode.EUA;
    if (status === StatusCode.EOK) append(add.body);
    group.push({ socket, header: request.header, status, ledgerId: add.ledgerId, entryId: add.entryId });
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk);
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});

process.on('SIGTERM', () => {
  server.close();
  closeSync(fd);
  process.exit(0);
});
