import { PulsarFormatError } from '../../../../broker/pulsar';
import { captureError } from '../../../harness';

/** Runs `fn`, expects it to throw a PulsarFormatError (and nothing else) and returns it. */
export function expectFormatError(fn: () => unknown): PulsarFormatError {
  const error = captureError(fn);
  expect(error).toBeInstanceOf(PulsarFormatError);
  return error as PulsarFormatError;
}
