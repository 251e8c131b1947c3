import { PulsarFormatError } from '../../../../broker/pulsar';
import { captureError } from '../../../harness';

/** Runs `fn`, expects it to throw a PulsarFormatError (and nothing else) and returns it. */
export function expectFormatError(fn: () => unknown): PulsarFormatError {
  const error = captureError(fn);
  expect(error).toBeInstanceOf(PulsarFormatError);
  return error as PulsarFormatError;
}

/** Runs `fn` on junk input: it may return or throw, but what it throws must be a PulsarFormatError. */
export function throwsOnlyFormatErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PulsarFormatError);
  }
}
