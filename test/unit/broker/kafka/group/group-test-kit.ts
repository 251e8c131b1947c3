import { GroupCoordinator } from '../../../../../broker/kafka/group';
import type {
  GroupCoordinatorOptions,
  JoinGroupRequest,
  JoinGroupResponse,
  ScheduledTask,
  Scheduler,
} from '../../../../../broker/kafka/group';

/**
 * What the group coordinator tests share: a scheduler whose clock only moves when a test says so, a way to tell
 * whether a parked request has been answered yet, and request builders with the clients' usual values.
 */

interface Timer {
  atMs: number;
  seq: number;
  task: () => void;
  cancelled: boolean;
}

export class ManualScheduler implements Scheduler {
  nowMs = 0;
  private seq = 0;
  private timers: Timer[] = [];

  schedule(delayMs: number, task: () => void): ScheduledTask {
    const timer: Timer = { atMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, task, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves the clock forward, running every task that falls due (in time order, then scheduling order). */
  advance(ms: number): void {
    const endMs = this.nowMs + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.reduce<Timer | undefined>(
        (best, t) =>
          best === undefined || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq) ? t : best,
        undefined,
      );
      if (next === undefined || next.atMs > endMs) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.nowMs = next.atMs;
      next.task();
    }
    this.nowMs = endMs;
  }

  pendingCount(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

/** A promise whose outcome can be read synchronously once the microtasks have run. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  done: boolean;
  value: T | undefined;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, done: false, value: undefined };
  void promise.then((value) => {
    tracked.done = true;
    tracked.value = value;
  });
  return tracked;
}

/** Lets every pending promise callback run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** The answer of a parked request that must have been answered by now. */
export function answered<T>(tracked: Tracked<T>): T {
  if (!tracked.done || tracked.value === undefined) throw new Error('the request is still parked');
  return tracked.value;
}

export const SESSION_MS = 10000;
export const REBALANCE_MS = 30000;

export function newCoordinator(options: GroupCoordinatorOptions = {}): {
  coordinator: GroupCoordinator;
  scheduler: ManualScheduler;
} {
  const scheduler = new ManualScheduler();
  return { coordinator: new GroupCoordinator({ scheduler, ...options }), scheduler };
}

export function joinRequest(overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    memberId: '',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
    clientId: 'kafkajs',
    clientHost: '/127.0.0.1',
    ...overrides,
  };
}

export type JoinAnswer = Tracked<JoinGroupResponse>;
