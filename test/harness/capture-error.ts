/** Runs `fn` and returns what it threw; fails the test when it returns normally. */
export function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
