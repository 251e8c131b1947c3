import { KafkaRecordError } from '../../../../../broker/kafka/record';
import type { KafkaRecordErrorCode } from '../../../../../broker/kafka/record';
import { captureError } from '../../../../harness';

/** Runs `fn`, expects it to throw a KafkaRecordError with `code` (and nothing else) and returns it. */
export function expectRecordError(fn: () => unknown, code: KafkaRecordErrorCode): KafkaRecordError {
  return checked(captureError(fn), code);
}

/** Awaits `promise`, expects it to reject with a KafkaRecordError with `code`. */
export async function expectRecordRejection(
  promise: Promise<unknown>,
  code: KafkaRecordErrorCode,
): Promise<void> {
  const error = await promise.then(
    () => new Error('expected an error'),
    (e: unknown) => e,
  );
  checked(error, code);
}

function checked(error: unknown, code: KafkaRecordErrorCode): KafkaRecordError {
  expect(error).toBeInstanceOf(KafkaRecordError);
  expect((error as KafkaRecordError).code).toBe(code);
  return error as KafkaRecordError;
}

/** Runs `fn`: it may return or throw KafkaRecordError, nothing else. */
export function onlyRecordErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof KafkaRecordError)) throw error;
  }
}

/** Awaits `fn()`: it may resolve or reject with KafkaRecordError, nothing else. */
export async function onlyRecordErrorsAsync(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof KafkaRecordError)) throw error;
  }
}
