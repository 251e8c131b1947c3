import type { BookieView } from '../../../../ledger-client/placement/placement-policy';

/** A BookieView over plain sets the test changes as it goes (what a BookieWatcher would see). */
export interface FakeView extends BookieView {
  writableSet: Set<string>;
  readOnlySet: Set<string>;
}

export function fakeView(writable: readonly string[], readOnly: readonly string[] = []): FakeView {
  const view = {
    writableSet: new Set(writable),
    readOnlySet: new Set(readOnly),
    writable: () => view.writableSet,
    readOnly: () => view.readOnlySet,
  };
  return view;
}

/** `count` bookie ids `<prefix>1:3181`, `<prefix>2:3181`, ... */
export function bookies(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}:3181`);
}
