import { LedgerlineError } from '../common';

/** A command that cannot do what was asked (no cluster yet, not confirmed, ...): one line to the user. */
export class CommandError extends LedgerlineError {
  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super('CommandFailed', message, options);
  }
}
