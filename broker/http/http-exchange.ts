import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LedgerlineError, RequestBodyTooLargeError, readRequestBody } from '../../common';

/** The body cap for admin requests: policies, message ids and tenant infos are a few hundred bytes. */
export const REQUEST_BODY_BYTES_MAX = 64 * 1024;

/**
 * An HTTP error as Pulsar's REST API reports it: a status and `{"reason": ...}`. Handlers throw it for request
 * problems (bad JSON, a bad path parameter); broker errors are mapped to statuses where they are caught.
 */
export class HttpError extends LedgerlineError {
  constructor(
    readonly status: number,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super('HttpError', message, options);
  }
}

/** The request's whole body, at most `maxBytes` (413 past it: the rest is not read, the connection closes). */
export function readBody(req: IncomingMessage, maxBytes = REQUEST_BODY_BYTES_MAX): Promise<Buffer> {
  return readRequestBody(req, maxBytes).catch((error: unknown) => {
    throw error instanceof RequestBodyTooLargeError ? new HttpError(413, error.message) : error;
  });
}

/**
 * The body parsed as JSON; undefined when empty; 400 naming the problem when it is not JSON. Integers too long
 * for a JS number to hold exactly (ledger ids are near 2^63) arrive as strings of their digits, for the schema
 * of the body to turn into bigints.
 */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(quoteLongIntegers(text)) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Integer literals of 16 or more digits, outside strings, put in quotes. Malformed JSON stays malformed. */
function quoteLongIntegers(text: string): string {
  if (!/\d{16}/.test(text)) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64)) ?? [c];
      const literal = match[0];
      const integerDigits = literal.replace('-', '').length;
      out +=
        match[1] === undefined && match[2] === undefined && integerDigits >= 16 ? `"${literal}"` : literal;
      i += literal.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Marks a bigint's digits inside JSON.stringify's output; unguessable, so no user string can forge it. */
const BIGINT_MARK = `\u0000bigint${randomBytes(6).toString('hex')}:`;
const BIGINT_MARKED = new RegExp(`"${BIGINT_MARK.replace('\u0000', '\\\\u0000')}(-?\\d+)"`, 'g');

/**
 * JSON with 64-bit ids (bigint) written as exact JSON numbers, as Pulsar's Jackson writes longs: ledger ids of
 * managed ledgers are near 2^63, past what a JS number holds, so they cannot go through Number.
 */
export function toJson(value: unknown): string {
  let marked = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marked = true;
    return `${BIGINT_MARK}${v.toString()}`;
  });
  return marked ? text.replace(BIGINT_MARKED, '$1') : text;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(toJson(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

/** Pulsar's error body: `{"reason": "..."}`. */
export function sendReason(res: ServerResponse, status: number, reason: string): void {
  sendJson(res, status, { reason });
}
