import { connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A raw TCP connection to a loopback server, for bad-input tests: write any bytes, see when the server closes
 * it. Errors are swallowed (a reset is an expected outcome); what arrives is read and dropped unless the caller
 * listens for 'data'.
 */
export async function rawConnection(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
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

/** Resolves true if `closed` settles within `ms`, false otherwise (the timer is cleared either way). */
export async function closesWithin(closed: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([closed.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
