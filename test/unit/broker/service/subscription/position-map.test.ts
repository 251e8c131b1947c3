import { Position } from '../../../../../managed-ledger';
import { PositionMap } from '../../../../../broker/service/subscription/position-map';

const p = (l: number, e: number): Position => Position.of(l, e);

describe('broker > subscription > PositionMap', () => {
  it('keeps values by position, sorted across ledgers, and forgets the sort on every change', () => {
    const map = new PositionMap<{ position: Position; v: string }>();
    map.set({ position: p(7, 2), v: 'c' });
    map.set({ position: p(3, 10), v: 'b' });
    map.set({ position: p(3, 9), v: 'a' });
    expect(map.sorted().map((x) => x.v)).toEqual(['a', 'b', 'c']);
    map.set({ position: p(3, 1), v: 'z' });
    expect(map.sorted().map((x) => x.v)).toEqual(['z', 'a', 'b', 'c']);
    expect(map.delete(p(3, 9))?.v).toBe('a');
    expect(map.sorted().map((x) => x.v)).toEqual(['z', 'b', 'c']);
    expect(map.get(p(7, 2))?.v).toBe('c');
    expect(map.has(p(7, 3))).toBe(false);
    expect(map.size).toBe(3);
  });

  it('removes everything at or before a position', () => {
    const map = new PositionMap<{ position: Position }>();
    for (const [l, e] of [
      [1, 0],
      [1, 5],
      [2, 0],
      [2, 1],
      [3, 0],
    ] as const) {
      map.set({ position: p(l, e) });
    }
    const removed = map.deleteAtOrBefore(p(2, 0)).map((x) => x.position.toString());
    expect(removed.sort()).toEqual(['1:0', '1:5', '2:0']);
    expect(map.sorted().map((x) => x.position.toString())).toEqual(['2:1', '3:0']);
    expect(map.size).toBe(2);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.sorted()).toEqual([]);
  });
});
