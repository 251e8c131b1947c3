/*
 * The disk's synced sequential append bandwidth, measured in a benchmark's own run as the physical limit its
 * figures stand beside: write + fdatasync of `blockBytes` blocks into a preallocated 256 MiB file in `dir`
 * (the file wraps around, so the figure is the device's, not the allocator's). MiB/s for each of `runs` runs of
 * `seconds`, after one warm-up run.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const MIB = 1024 * 1024;
const REGION_BYTES = 256 * MIB;

export function diskAppendMibPerSecond(
  dir: string,
  options: { seconds: number; runs: number; blockBytes?: number },
): number[] {
  const blockBytes = options.blockBytes ?? 64 * 1024;
  const path = join(dir, 'disk-append.bin');
  const fd = openSync(path, 'w+');
  try {
    const zeros = Buffer.alloc(MIB);
    for (let at = 0; at < REGION_BYTES; at += MIB) writeSync(fd, zeros, 0, MIB, at);
    fdatasyncSync(fd);
    const block = Buffer.alloc(blockBytes, 1);
    const perRun = (): number => {
      const started = performance.now();
      const deadline = started + options.seconds * 1000;
      let bytes = 0;
      let at = 0;
      while (performance.now() < deadline) {
        writeSync(fd, block, 0, blockBytes, at);
        fdatasyncSync(fd);
        bytes += blockBytes;
        at = (at + blockBytes) % REGION_BYTES;
      }
      return bytes / MIB / ((performance.now() - started) / 1000);
    };
    perRun();
    return Array.from({ length: options.runs }, perRun);
  } finally {
    closeSync(fd);
    rmSync(path);
  }
}
