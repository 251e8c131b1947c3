/**
 * Time for the group coordinator: the only way it waits is by scheduling a task, so tests drive every session
 * expiry, rebalance timeout and initial delay by hand (or with jest's fake timers on `systemScheduler`).
 */
export interface Scheduler {
  /** Runs `task` once after `delayMs` unless cancelled first. */
  schedule(delayMs: number, task: () => void): ScheduledTask;
}

export interface ScheduledTask {
  /** Idempotent; a no-op once the task has run. */
  cancel(): void;
}

/**
 * Node's timers. They are unref'd: a group's session timers must not keep a process alive on their own (its
 * sockets do that).
 */
export const systemScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
