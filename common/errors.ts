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
