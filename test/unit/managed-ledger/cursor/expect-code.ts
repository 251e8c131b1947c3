import { isManagedLedgerError } from '../../../../managed-ledger';
import type { ManagedLedgerErrorCode } from '../../../../managed-ledger';

/** Awaits the promise (or calls the function) and returns the ManagedLedgerError it failed with. */
export async function expectCode(
  promise: Promise<unknown> | (() => unknown),
  code: ManagedLedgerErrorCode,
): Promise<Error> {
  let failure: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    failure = err;
  }
  if (!isManagedLedgerError(failure, code)) {
    throw new Error(`expected ManagedLedgerError ${code}, got ${String(failure)}`);
  }
  return failure;
}
