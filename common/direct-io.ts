import { closeSync, constants, openSync, write, writeSync } from 'node:fs';

/*
 * What O_DIRECT writers share (the journal, the entry logs). A direct write goes from memory straight to the
 * device, without a copy into the page cache; its source address, file offset and length must be multiples of
 * the device's logical block size. DIRECT_IO_BLOCK_BYTES (a page) covers every block size we meet.
 */

/** The alignment our direct writes keep: address, offset and length. */
export const DIRECT_IO_BLOCK_BYTES = 4096;

/** The one WebAssembly API used here (Node has it; the DOM lib that types it is not in our tsconfig). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum?: number }) => { buffer: ArrayBuffer };
};

/**
 * `bytes` of page-aligned memory, zeroed: a WebAssembly memory's buffer (V8 maps it on its own pages). An
 * O_DIRECT write needs its source address aligned to the device's block size, which a Buffer's is not.
 */
export function alignedBuffer(bytes: number): Buffer {
  const pages = Math.ceil(bytes / 65536);
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, bytes);
}

/** `bytes` rounded up to a whole number of direct-I/O blocks. */
export function roundUpToBlock(bytes: number): number {
  return Math.ceil(bytes / DIRECT_IO_BLOCK_BYTES) * DIRECT_IO_BLOCK_BYTES;
}

/** Whether an error is a file system or device refusing direct I/O (tmpfs at open; odd block sizes at write). */
function isDirectIoRefused(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EINVAL';
}

/**
 * Opens an existing file for reading and writing with O_DIRECT, then runs `probe` on it (a first aligned write);
 * undefined when either is refused (isDirectIoRefused), so the caller goes through the page cache instead.
 */
export function openDirect(path: string, probe: (fd: number) => void): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_DIRECT);
  } catch (error) {
    if (isDirectIoRefused(error)) return undefined;
    throw error;
  }
  try {
    probe(fd);
    return fd;
  } catch (error) {
    closeSync(fd);
    if (isDirectIoRefused(error)) return undefined;
    throw error;
  }
}

/** writeSync until all `length` bytes of `buffer` from `start` are at `position` (a short write is continued). */
export function writeFully(
  fd: number,
  buffer: Buffer,
  start: number,
  length: number,
  position: number,
): void {
  for (let written = 0; written < length;) {
    const bytes = writeSync(fd, buffer, start + written, length - written, position + written);
    if (bytes <= 0) throw new Error(`write made no progress at offset ${position + written}`);
    written += bytes;
  }
}

/**
 * writeFully on libuv's thread pool (fs.write, continued after a short write): the calling thread is free while
 * the device takes the bytes. `done` gets the system error, if any. `buffer` must not change until then.
 */
export function writeFullyInBackground(
  fd: number,
  buffer: Buffer,
  start: number,
  length: number,
  position: number,
  done: (error: NodeJS.ErrnoException | null) => void,
): void {
  const from = (written: number): void => {
    write(fd, buffer, start + written, length - written, position + written, (error, bytes) => {
      if (error !== null) done(error);
      else if (bytes <= 0) done(new Error(`write made no progress at offset ${position + written}`));
      else if (written + bytes < length) from(written + bytes);
      else done(null);
    });
  };
  from(0);
}
