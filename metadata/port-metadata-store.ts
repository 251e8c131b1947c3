import type { MessagePort } from 'node:worker_threads';
import { sendError } from '../common';
import type { SentError } from '../common';
import * as bookkeeperErrors from './bookkeeper-errors';
import * as storeErrors from './errors';
import { MetadataError, MetadataUnavailableError } from './errors';
import type {
  ExpectedVersion,
  ListOptions,
  MetadataSession,
  MetadataStore,
  PutOptions,
  Stat,
  StoredValue,
  Watch,
  WatchEvent,
} from './metadata-store';

/*
 * A MetadataStore served across a MessagePort. Standalone runs its bookies in worker threads, and they reach the
 * one embedded store of the process (whose RocksDB directory only one opener may hold) in the main thread
 * through it: `serveMetadataStore(store, port)` answers on the store's side, `PortMetadataStore` is the store the
 * worker uses. Calls are request/response by id, in order; watch events and lost sessions are pushed. A store
 * error keeps its class (by name, among the metadata module's error classes), code, message and retriable flag,
 * so `instanceof BadVersionError` works on the far side.
 */

type Call =
  | { id: number; op: 'get'; key: string }
  | {
      id: number;
      op: 'put';
      key: string;
      value: Uint8Array;
      expectedVersion?: ExpectedVersion;
      session?: string;
    }
  | { id: number; op: 'delete'; key: string; expectedVersion?: ExpectedVersion }
  | { id: number; op: 'list'; prefix: string; options?: ListOptions }
  | { id: number; op: 'watch'; key: string; prefix: boolean }
  | { id: number; op: 'unwatch'; watch: number }
  | { id: number; op: 'createSession'; ttlSeconds: number }
  | { id: number; op: 'closeSession'; session: string }
  | { id: number; op: 'close' };

type Reply =
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SentError }
  | { kind: 'watchEvent'; watch: number; event: WatchEvent }
  | { kind: 'sessionLost'; session: string; error: SentError };

/** The code of a failure that was not a LedgerlineError. */
const METADATA_FAILED = 'MetadataFailed';

const ERROR_CLASSES: ReadonlyMap<string, { prototype: object }> = new Map(
  Object.values({ ...storeErrors, ...bookkeeperErrors })
    .filter((value): value is typeof MetadataError => typeof value === 'function')
    .map((errorClass) => [errorClass.name, errorClass]),
);

/** The error as the store threw it: its own class when it is one of the module's, else a MetadataError. */
function receivedError(sent: SentError): Error {
  const error = new MetadataError(sent.code, sent.message, { retriable: sent.retriable });
  const errorClass = ERROR_CLASSES.get(sent.name);
  if (errorClass !== undefined) {
    Object.setPrototypeOf(error, errorClass.prototype);
    error.name = sent.name;
  }
  return error;
}

/** A Buffer over bytes a MessagePort delivered (structured clone turns Buffers into plain Uint8Arrays). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Answers PortMetadataStore calls arriving on `port` with `store`. Sessions and watches the far side opened are
 * closed when it closes the store or the port closes; the store itself stays open (its owner closes it).
 */
export function serveMetadataStore(store: MetadataStore, port: MessagePort): void {
  const sessions = new Map<string, MetadataSession>();
  const watches = new Map<number, Watch>();
  let nextWatch = 1;
  const post = (reply: Reply): void => {
    try {
      port.postMessage(reply);
    } catch {
      // The port closed: the far side is gone and hears nothing more.
    }
  };
  const closeAll = async (): Promise<void> => {
    const opened = [...watches.values()];
    watches.clear();
    const held = [...sessions.values()];
    sessions.clear();
    await Promise.allSettled([...opened.map((w) => w.close()), ...held.map((s) => s.close())]);
  };
  const run = async (call: Call): Promise<unknown> => {
    switch (call.op) {
      case 'get':
        return store.get(call.key);
      case 'put': {
        const options: PutOptions = {};
        if (call.expectedVersion !== undefined) options.expectedVersion = call.expectedVersion;
        if (call.session !== undefined) {
          const session = sessions.get(call.session);
          if (session === undefined) throw new storeErrors.SessionLostError(call.session);
          options.session = session;
        }
        return store.put(call.key, asBuffer(call.value), options);
      }
      case 'delete':
        return store.delete(call.key, call.expectedVersion);
      case 'list':
        return store.list(call.prefix, call.options);
      case 'watch': {
        const watch = nextWatch++;
        const opened = await store.watch(call.key, (event) => post({ kind: 'watchEvent', watch, event }), {
          prefix: call.prefix,
        });
        watches.set(watch, opened);
        return watch;
      }
      case 'unwatch': {
        const opened = watches.get(call.watch);
        watches.delete(call.watch);
        await opened?.close();
        return undefined;
      }
      case 'createSession': {
        const session = await store.createSession(call.ttlSeconds);
        sessions.set(session.id, session);
        session.onLost((cause) => {
          sessions.delete(session.id);
          post({ kind: 'sessionLost', session: session.id, error: sendError(cause, METADATA_FAILED) });
        });
        return { id: session.id, ttlSeconds: session.ttlSeconds };
      }
      case 'closeSession': {
        const session = sessions.get(call.session);
        sessions.delete(call.session);
        await session?.close();
        return undefined;
      }
      case 'close':
        await closeAll();
        return undefined;
    }
  };
  port.on('message', (call: Call) => {
    run(call).then(
      (value) => post({ kind: 'result', id: call.id, value }),
      (error: unknown) => post({ kind: 'error', id: call.id, error: sendError(error, METADATA_FAILED) }),
    );
  });
  port.on('close', () => void closeAll());
}

class PortSession implements MetadataSession {
  private readonly lostListeners: Array<(cause: Error) => void> = [];
  private ended = false;

  constructor(
    private readonly store: PortMetadataStore,
    readonly id: string,
    readonly ttlSeconds: number,
  ) {}

  onLost(listener: (cause: Error) => void): void {
    this.lostListeners.push(listener);
  }

  lost(cause: Error): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of this.lostListeners) listener(cause);
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.store.call({ op: 'closeSession', session: this.id });
  }
}

type CallInput = Call extends infer C ? (C extends Call ? Omit<C, 'id'> : never) : never;

/** The MetadataStore of a worker thread: every call answered by `serveMetadataStore` on the port's other end. */
export class PortMetadataStore implements MetadataStore {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private readonly listeners = new Map<number, (event: WatchEvent) => void>();
  private readonly sessions = new Map<string, PortSession>();
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (reply: Reply) => this.onReply(reply));
    port.on('close', () => this.failPending('the metadata store port closed'));
  }

  /** Sends one call; resolves with its result. */
  call(input: CallInput): Promise<unknown> {
    if (this.closed && input.op !== 'close') {
      return Promise.reject(new MetadataUnavailableError('the metadata store is closed'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ ...input, id });
    });
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const found = (await this.call({ op: 'get', key })) as StoredValue | undefined;
    return found === undefined ? undefined : { ...found, value: asBuffer(found.value) };
  }

  async put(key: string, value: Buffer, options: PutOptions = {}): Promise<Stat> {
    const call: CallInput = { op: 'put', key, value };
    if (options.expectedVersion !== undefined) call.expectedVersion = options.expectedVersion;
    if (options.session !== undefined) call.session = options.session.id;
    return (await this.call(call)) as Stat;
  }

  async delete(key: string, expectedVersion?: ExpectedVersion): Promise<void> {
    await this.call(
      expectedVersion === undefined ? { op: 'delete', key } : { op: 'delete', key, expectedVersion },
    );
  }

  async list(prefix: string, options?: ListOptions): Promise<StoredValue[]> {
    const found = (await this.call(
      options === undefined ? { op: 'list', prefix } : { op: 'list', prefix, options },
    )) as StoredValue[];
    return found.map((stored) =>
      stored.value === undefined ? stored : { ...stored, value: asBuffer(stored.value) },
    );
  }

  async watch(
    key: string,
    listener: (event: WatchEvent) => void,
    options: { prefix?: boolean } = {},
  ): Promise<Watch> {
    const watch = (await this.call({ op: 'watch', key, prefix: options.prefix === true })) as number;
    this.listeners.set(watch, listener);
    let open = true;
    return {
      close: async () => {
        if (!open) return;
        open = false;
        this.listeners.delete(watch);
        await this.call({ op: 'unwatch', watch });
      },
    };
  }

  async createSession(ttlSeconds: number): Promise<MetadataSession> {
    const { id, ttlSeconds: ttl } = (await this.call({ op: 'createSession', ttlSeconds })) as {
      id: string;
      ttlSeconds: number;
    };
    const session = new PortSession(this, id, ttl);
    this.sessions.set(id, session);
    return session;
  }

  /** Closes the sessions and watches this side opened; the store itself belongs to the other side. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.sessions.clear();
    await this.call({ op: 'close' }).catch(() => undefined);
  }

  private onReply(reply: Reply): void {
    switch (reply.kind) {
      case 'result':
      case 'error': {
        const waiter = this.pending.get(reply.id);
        if (waiter === undefined) return;
        this.pending.delete(reply.id);
        if (reply.kind === 'result') waiter.resolve(reply.value);
        else waiter.reject(receivedError(reply.error));
        return;
      }
      case 'watchEvent': {
        const event = reply.event;
        this.listeners.get(reply.watch)?.(
          event.type === 'put' ? { ...event, value: asBuffer(event.value) } : event,
        );
        return;
      }
      case 'sessionLost': {
        const session = this.sessions.get(reply.session);
        this.sessions.delete(reply.session);
        session?.lost(receivedError(reply.error));
        return;
      }
    }
  }

  private failPending(reason: string): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiting) waiter.reject(new MetadataUnavailableError(reason));
  }
}
