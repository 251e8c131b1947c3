import { LedgerlineError } from '../../common';

/** An operator asked for read-only mode while `readOnlyModeEnabled=false`. */
export class ReadOnlyModeDisabledError extends LedgerlineError {
  constructor() {
    super(
      'ReadOnlyModeDisabled',
      'read-only mode is disabled (readOnlyModeEnabled=false); the bookie cannot become read-only',
    );
  }
}

/**
 * The bookie cannot go on serving: it would have to become read-only (e.g. every ledger dir is full) but
 * `readOnlyModeEnabled=false`. BookKeeper shuts the bookie down in this case; the owner of the state manager
 * receives this through `onFatal` and does the same.
 */
export class BookieFatalError extends LedgerlineError {
  constructor(readonly reason: string) {
    super(
      'BookieFatal',
      `the bookie must stop: it would go read-only (${reason}) but readOnlyModeEnabled=false`,
    );
  }
}
