import type { IncomingMessage } from 'node:http';
import { LedgerlineError } from './errors';

/** A request body over the server's cap (an HTTP server answers 413). */
export class RequestBodyTooLargeError extends LedgerlineError {
  constructor(message: string) {
    super('RequestBodyTooLarge', message);
  }
}

/**
 * Reads a request's whole body, at most `maxBytes`: a declared Content-Length over it is refused before anything
 * is read, a body that grows past it (chunked) as soon as it does, and the rest is not buffered. Resolves to an
 * empty buffer for a request without a body. Shared by the bookie's and the broker's admin HTTP servers.
 */
export function readRequestBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new RequestBodyTooLargeError(`request body of ${declared} bytes exceeds ${maxBytes}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        request.off('data', onData);
        request.pause();
        reject(new RequestBodyTooLargeError(`request body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks, size)));
    request.once('error', reject);
  });
}
