/**
 * The base of every error ledgerline raises on purpose. Each layer (protocol, metadata, bookie, ledger,
 * managed-ledger, broker) has its own family below this class, and wraps the errors of the layer beneath it
 * in `cause`, so a caller sees errors named in its own vocabulary while the chain keeps the root.
 */
export class LedgerlineError extends Error {
  /** A stable, machine-readable name, e.g. `BadVersion` or `FrameTooLarge`. Never changes once shipped. */
  readonly code: string;
  /** True when retrying the same operation may succeed (timeouts, lost connections, lost CAS races). */
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad configuration: names the key, the value given and what was expected. Raised at start, never later. */
export class ConfigError extends LedgerlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BadConfig', message, options);
  }
}

/** An error as it crosses a thread boundary (structured clone keeps no class): what rebuilding it needs. */
export interface SentError {
  name: string;
  code: string;
  message: string;
  retriable: boolean;
}

/** `error` as a SentError; anything that is not a LedgerlineError gets `fallbackCode`. */
export function sendError(error: unknown, fallbackCode: string): SentError {
  if (error instanceof LedgerlineError) {
    return { name: error.name, code: error.code, message: error.message, retriable: error.retriable };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { name, code: fallbackCode, message, retriable: false };
}
