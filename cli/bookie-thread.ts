import { MessageChannel, Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { LedgerlineError } from '../common';
import type { SentError } from '../common';
import type { MetadataStore } from '../metadata';
import { serveMetadataStore } from '../metadata';

/*
 * A standalone bookie in a worker thread (main side; bookie-thread-main.ts is the thread's code). The bookie is
 * the BookieService `ledgerline bookie` runs, with its own event loop and V8 heap on another core: the broker and
 * the bookie no longer take turns on one thread (its journal writes and write-cache flushes used to stall the
 * broker's loop). It reaches the process's one embedded metadata store through a MessagePort
 * (serveMetadataStore / PortMetadataStore); the broker's client reaches it over TCP as before. Logs go to
 * stderr from the thread, as the main thread's do.
 */

/** How long a thread may take to end after its bookie stopped before it is terminated. */
const STOP_GRACE_MS = 2_000;

/** What the thread posts to the main side. */
export type BookieThreadMessage =
  | { type: 'ready'; bookieId: string }
  | { type: 'failed'; error: SentError }
  | { type: 'fatal'; error: SentError }
  | { type: 'stopped' };

/** What the main side posts to the thread. */
export type BookieThreadCommand = { type: 'stop' };

/** The code of a bookie thread failure that was not a LedgerlineError. */
export const BOOKIE_THREAD_FAILED = 'BookieThreadFailed';

export class BookieThreadError extends LedgerlineError {
  constructor(sent: SentError) {
    super(sent.code, sent.message);
  }
}

/** The workerData of a bookie thread. */
export interface BookieThreadData {
  /** bookie.conf settings (parsed by the thread with bookieConfigSchema). */
  settings: Record<string, string>;
  scope: string;
}

export class BookieThread {
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly bookieId: string,
    private readonly exited: Promise<void>,
    private readonly stoppedMessage: Promise<void>,
  ) {}

  /**
   * Starts the bookie in a new thread; resolves once it serves. `onFatal` is called once if the bookie must stop
   * later (or its thread dies).
   */
  static async start(options: {
    settings: Record<string, string>;
    store: MetadataStore;
    scope: string;
    onFatal: (error: Error) => void;
  }): Promise<BookieThread> {
    const channel = new MessageChannel();
    serveMetadataStore(options.store, channel.port1);
    const workerData: BookieThreadData & { metadataPort: unknown } = {
      settings: options.settings,
      scope: options.scope,
      metadataPort: channel.port2,
    };
    const worker = new Worker(join(__dirname, 'bookie-thread-main.js'), {
      workerData,
      transferList: [channel.port2],
    });
    let started = false;
    let stopped = false;
    let onStopped: () => void = () => undefined;
    const stoppedMessage = new Promise<void>((resolve) => (onStopped = resolve));
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const bookieId = await new Promise<string>((resolve, reject) => {
      worker.on('message', (message: BookieThreadMessage) => {
        if (message.type === 'ready') {
          started = true;
          resolve(message.bookieId);
        } else if (message.type === 'failed') {
          reject(new BookieThreadError(message.error));
        } else if (message.type === 'fatal') {
          options.onFatal(new BookieThreadError(message.error));
        } else if (message.type === 'stopped') {
          stopped = true;
          onStopped();
        }
      });
      worker.once('error', (error) => {
        if (started) options.onFatal(error);
        else reject(error);
      });
      worker.once('exit', (code) => {
        channel.port1.close();
        if (!started) reject(new Error(`the bookie thread exited (code ${code}) before it was ready`));
        else if (!stopped) options.onFatal(new Error(`the bookie thread exited (code ${code})`));
      });
    });
    return new BookieThread(worker, bookieId, exited, stoppedMessage);
  }

  /** Stops the bookie (in-flight adds finished, checkpointed, deregistered), then its thread. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const command: BookieThreadCommand = { type: 'stop' };
      this.worker.postMessage(command);
      // The thread ends once its loop is empty after the bookie stopped; a handle left open must not hold us.
      const late = this.stoppedMessage.then(
        () => new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS)),
      );
      await Promise.race([this.exited, late]);
      await this.worker.terminate();
    })();
    return this.stopping;
  }
}
