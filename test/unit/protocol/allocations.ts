/** Test helper: watches Buffer allocations so tests can bound what a decoder allocates on hostile input. */

/** Records the size of every Buffer allocation made while `fn` runs. */
export function allocationsDuring(fn: () => void): number[] {
  const sizes: number[] = [];
  const { alloc, allocUnsafe, allocUnsafeSlow, concat } = Buffer;
  const spies = [
    jest.spyOn(Buffer, 'alloc').mockImplementation(recording(alloc, sizes)),
    jest.spyOn(Buffer, 'allocUnsafe').mockImplementation(recording(allocUnsafe, sizes)),
    jest.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation(recording(allocUnsafeSlow, sizes)),
  ];
  const concatSpy = jest.spyOn(Buffer, 'concat').mockImplementation((list, totalLength) => {
    sizes.push(totalLength ?? list.reduce((sum, b) => sum + b.length, 0));
    return concat(list, totalLength);
  });
  try {
    fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
    concatSpy.mockRestore();
  }
  return sizes;
}

function recording<F extends (size: number, ...rest: never[]) => Buffer>(original: F, sizes: number[]): F {
  return ((size: number, ...rest: never[]) => {
    sizes.push(size);
    return original(size, ...rest);
  }) as F;
}
