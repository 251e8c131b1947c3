import { BookieHealth } from '../../../../ledger-client/placement/bookie-health';
import { fakeView } from './fakes';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let nowMs = 0;
  return { now: () => nowMs, advance: (ms) => (nowMs += ms) };
}

const writeSet = ['b1:3181', 'b2:3181', 'b3:3181'];
/** The bookies of a read order, for readable expectations. */
const ordered = (health: BookieHealth, set: readonly string[] = writeSet): string[] =>
  health.readOrder(set).map((i) => set[i]!);

describe('ledger-client > placement > bookie health', () => {
  test('healthy bookies are read in write-set order, read-only ones included', () => {
    const health = new BookieHealth(fakeView(['b1:3181', 'b3:3181'], ['b2:3181']));
    expect(health.readOrder(writeSet)).toEqual([0, 1, 2]);
    expect(ordered(health, ['b3:3181', 'b2:3181', 'b1:3181'])).toEqual(['b3:3181', 'b2:3181', 'b1:3181']);
  });

  test('slow bookies go after healthy ones, failed after slow, unregistered last; each class keeps its order', () => {
    const clock = manualClock();
    const view = fakeView(['b1:3181', 'b2:3181', 'b3:3181', 'b4:3181', 'b5:3181']);
    const health = new BookieHealth(view, { now: clock.now });
    const six = ['b1:3181', 'b2:3181', 'gone:3181', 'b3:3181', 'b4:3181', 'b5:3181'];
    const expected = ['b4:3181', 'b5:3181', 'b2:3181', 'b1:3181', 'b3:3181', 'gone:3181'];
    health.recordFailure('b1:3181');
    health.recordSlow('b2:3181');
    health.recordFailure('b3:3181');
    expect(ordered(health, six)).toEqual(expected);
    // A bookie both slow and failed counts as failed.
    health.recordSlow('b1:3181');
    expect(ordered(health, six)).toEqual(expected);
  });

  test('a failure moves a bookie last until it expires, or until the bookie answers again', () => {
    const clock = manualClock();
    const health = new BookieHealth(fakeView(writeSet), { now: clock.now, failureExpiryMs: 3000 });
    health.recordFailure('b1:3181');
    expect(ordered(health)).toEqual(['b2:3181', 'b3:3181', 'b1:3181']);
    clock.advance(2999);
    expect(ordered(health)).toEqual(['b2:3181', 'b3:3181', 'b1:3181']);
    clock.advance(1);
    expect(ordered(health)).toEqual(writeSet);

    health.recordFailure('b2:3181');
    expect(ordered(health)).toEqual(['b1:3181', 'b3:3181', 'b2:3181']);
    health.recordSuccess('b2:3181');
    expect(ordered(health)).toEqual(writeSet);
  });

  test('a slow bookie stays back until the slowness expires, even when its late answers succeed', () => {
    const clock = manualClock();
    const health = new BookieHealth(fakeView(writeSet), { now: clock.now, slowExpiryMs: 1000 });
    health.recordSlow('b1:3181');
    health.recordSuccess('b1:3181');
    expect(ordered(health)).toEqual(['b2:3181', 'b3:3181', 'b1:3181']);
    clock.advance(1000);
    expect(ordered(health)).toEqual(writeSet);
  });

  test('a bookie that is not registered goes last, and comes back to its place once it registers', () => {
    const view = fakeView(['b2:3181', 'b3:3181']);
    const health = new BookieHealth(view);
    expect(ordered(health)).toEqual(['b2:3181', 'b3:3181', 'b1:3181']);
    view.readOnlySet.add('b1:3181');
    expect(ordered(health)).toEqual(writeSet);
  });

  test('with reordering off (reorderReadSequenceEnabled=false) the write-set order always stands', () => {
    const health = new BookieHealth(fakeView(['b2:3181']), { reorder: false });
    health.recordFailure('b2:3181');
    health.recordSlow('b3:3181');
    expect(health.readOrder(writeSet)).toEqual([0, 1, 2]);
  });

  test("after thousands of bookies' records expire, the order reflects only the bookies still in trouble", () => {
    const clock = manualClock();
    const many = Array.from({ length: 3000 }, (_, i) => `m${i}:3181`);
    const health = new BookieHealth(fakeView([...many, ...writeSet]), {
      now: clock.now,
      failureExpiryMs: 100,
    });
    for (const bookieId of many) health.recordFailure(bookieId);
    clock.advance(100);
    health.recordFailure('b1:3181');
    for (const bookieId of many.slice(0, 2000)) health.recordSlow(bookieId);
    expect(ordered(health)).toEqual(['b2:3181', 'b3:3181', 'b1:3181']);
    expect(ordered(health, ['m0:3181', 'm2999:3181'])).toEqual(['m2999:3181', 'm0:3181']);
  });
});
