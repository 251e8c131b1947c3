/*
 * bench/codec: the BookKeeper v3 codec on one core.
 *
 *   node dist/bench/codec.js [--seconds 2] [--runs 5]
 *
 * Prints one JSON line per result:
 *   add_request_round_trip      encode a framed AddRequest (1 KiB payload) → FrameDecoder → decode, per second;
 *                               target ≥ 300,000/s. The same with protobufjs (referenceCodec) beside it.
 *   crc32c                      CRC32C over 64 KiB buffers, GB/s (@node-rs/crc32, native SSE4.2/ARMv8 CRC);
 *                               target ≥ 2 GB/s. A copy of the same buffers beside it, measured in the same run:
 *                               the ceiling for any one pass over them.
 */
import { crc32c } from '@node-rs/crc32';
import {
  decodeRequest,
  encodeRequestFrame,
  FrameDecoder,
  OperationType,
  ProtocolVersion,
  referenceCodec,
  encodeFrame,
} from '../protocol';
import type { Request } from '../protocol';
import { argValue, measureSync, printResult, round } from './measure';

const seconds = Number(argValue('seconds', '2'));
const runs = Number(argValue('runs', '5'));

function addRequest(entryId: bigint, body: Buffer, masterKey: Buffer): Request {
  return {
    header: { version: ProtocolVersion.VERSION_THREE, operation: OperationType.ADD_ENTRY, txnId: entryId },
    addRequest: { ledgerId: 1234n, entryId, masterKey, body },
  };
}

function roundTrips(codec: 'ledgerline' | 'protobufjs'): void {
  const body = Buffer.alloc(1024 + 32 + 4, 7); // a packed 1 KiB entry with a CRC32C digest
  const masterKey = Buffer.alloc(20, 3);
  let entryId = 0n;
  let decoded = 0;
  let lastDecoded: Request | undefined;
  const decoder = new FrameDecoder((payload) => {
    lastDecoded = codec === 'ledgerline' ? decodeRequest(payload) : referenceCodec.decodeRequest(payload);
    decoded++;
  });
  const batchSize = 1000;
  const batch = (): void => {
    for (let i = 0; i < batchSize; i++) {
      const request = addRequest(entryId++, body, masterKey);
      const frame =
        codec === 'ledgerline'
          ? encodeRequestFrame(request)
          : encodeFrame(referenceCodec.encodeRequest(request));
      decoder.push(frame);
    }
  };
  const result = measureSync(batch, batchSize, { seconds, runs });
  if (decoded === 0 || lastDecoded?.addRequest?.entryId !== entryId - 1n) {
    throw new Error('round trip did not decode what was encoded');
  }
  printResult({
    bench: 'codec',
    name: 'add_request_round_trip',
    codec,
    payloadBytes: 1024,
    unit: 'round_trips_per_s',
    median: round(result.median),
    runs: result.runs.map((r) => round(r)),
    target: codec === 'ledgerline' ? 300_000 : undefined,
  });
}

function crcThroughput(): void {
  const size = 64 * 1024;
  const buffers = Array.from({ length: 64 }, (_, i) => Buffer.alloc(size, i));
  const target = Buffer.alloc(size);
  let checksums = 0;
  const crc = measureSync(
    () => {
      for (const buffer of buffers) checksums += crc32c(buffer) & 1;
    },
    buffers.length * size,
    { seconds, runs },
  );
  const copy = measureSync(
    () => {
      for (const buffer of buffers) buffer.copy(target);
    },
    buffers.length * size,
    { seconds, runs },
  );
  const gb = (bytesPerSecond: number): number => round(bytesPerSecond / 1e9, 2);
  printResult({
    bench: 'codec',
    name: 'crc32c',
    implementation: '@node-rs/crc32 (native, hardware CRC32C instructions)',
    bufferBytes: size,
    unit: 'GB_per_s',
    median: gb(crc.median),
    runs: crc.runs.map(gb),
    target: 2,
    // The same buffers copied (cache-resident): the most any pass over them can reach here.
    bufferCopyGBPerS: gb(copy.median),
    checksummedOdd: checksums,
  });
}

roundTrips('ledgerline');
roundTrips('protobufjs');
crcThroughput();
