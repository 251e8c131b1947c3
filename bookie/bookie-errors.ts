import { LedgerlineError } from '../common';

/**
 * The bookie layer's error family, for what fails a bookie's lifecycle (start, replay, close). Requests never
 * throw: their outcome is a wire StatusCode, because every expected failure (no such entry, fenced, wrong key,
 * overloaded) is an answer to the client, not an exception.
 */
export class BookieError extends LedgerlineError {
  constructor(
    code: 'AlreadyStarted' | 'ReplayFailed' | 'StartFailed',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}
