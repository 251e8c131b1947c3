import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Builds the root logger of a process. Only entry points (the CLI, test harnesses, benchmarks) call this;
 * everything else receives a logger in its constructor and derives child loggers from it.
 */
export function createRootLogger(options: { name: string; level?: string; destination?: number }): Logger {
  return pino(
    { name: options.name, level: options.level ?? process.env.LOG_LEVEL ?? 'info' },
    pino.destination({ dest: options.destination ?? 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and tools that must stay quiet. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
