import { GroupCoordinator, systemScheduler } from '../../../../../broker/kafka/group';
import { answered, flush, joinRequest, track } from './group-test-kit';

describe('broker > kafka > group > system scheduler', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs and cancels tasks on Node timers (driven here by jest fake timers)', () => {
    jest.useFakeTimers();
    const ran: string[] = [];
    systemScheduler.schedule(100, () => ran.push('a'));
    const cancelled = systemScheduler.schedule(50, () => ran.push('b'));
    cancelled.cancel();
    jest.advanceTimersByTime(99);
    expect(ran).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ran).toEqual(['a']);
    cancelled.cancel();
  });

  it('completes a rebalance on the default scheduler after the initial delay', async () => {
    jest.useFakeTimers();
    const coordinator = new GroupCoordinator({ config: { groupInitialRebalanceDelayMs: 500 } });
    const first = track(coordinator.joinGroup(joinRequest()));
    const second = track(coordinator.joinGroup(joinRequest()));
    jest.advanceTimersByTime(999);
    await flush();
    expect(first.done || second.done).toBe(false);
    jest.advanceTimersByTime(1);
    await flush();
    expect([answered(first).generationId, answered(second).generationId]).toEqual([1, 1]);
    coordinator.close();
    expect(jest.getTimerCount()).toBe(0);
  });
});
