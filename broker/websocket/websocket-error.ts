import type { WebSocket } from 'ws';

/**
 * Pulsar's WebSocketError codes (pulsar-websocket `WebSocketError`). Pulsar closes a session with the bare code
 * (1..8), which RFC 6455 does not allow; we close with 4000 + code (the private-use range) and the reason, and a
 * producer's failed send replies `"result":"send-error:<code>"` with the bare code, as Pulsar does.
 */
export const WebSocketError = {
  FailedToCreateProducer: 1,
  FailedToSubscribe: 2,
  FailedToDeserializeFromJSON: 3,
  FailedToSerializeToJSON: 4,
  AuthenticationError: 5,
  NotAuthorizedError: 6,
  PayloadEncodingError: 7,
  UnknownError: 8,
} as const;

export type WebSocketErrorCode = (typeof WebSocketError)[keyof typeof WebSocketError];

/** The close code a session ends with for a WebSocketError: 4000 + Pulsar's code. */
export function closeCodeOf(code: WebSocketErrorCode): number {
  return 4000 + code;
}

/** A close reason fits in a control frame (125 bytes, 2 of them the code): longer reasons are cut. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= 123) return text;
  // Cut on a character boundary: drop a trailing partial UTF-8 sequence.
  return (
    bytes
      .subarray(0, 120)
      .toString('utf8')
      .replace(/\uFFFD+$/, '') + '...'
  );
}

/** How long a closing session waits for the client's close frame before the socket is destroyed. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

/**
 * Starts the close handshake and destroys the socket if the client does not answer in time (a client that stopped
 * reading would otherwise hold it for ws's 30 s).
 */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
  ws.close(code, closeReason(reason));
  const timer = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}
