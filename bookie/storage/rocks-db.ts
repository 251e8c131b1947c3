import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { StorageError } from './storage-errors';

/*
 * The part of the `rocksdb` package (leveldown API, callbacks, no type declarations) the storage indexes use,
 * behind promises. Writes go through a native chained batch: put() copies key and value into the batch at once,
 * so a caller may reuse one key buffer for a million puts.
 */

type Callback<T = void> = (err: Error | undefined | null, value?: T) => void;
interface NativeIterator {
  next(callback: (err: Error | undefined | null, key?: Buffer, value?: Buffer) => void): void;
  end(callback: Callback): void;
}
interface NativeBatch {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
  write(options: { sync?: boolean }, callback: Callback): void;
}
interface NativeDb {
  open(options: { createIfMissing?: boolean; writeBufferSize?: number }, callback: Callback): void;
  close(callback: Callback): void;
  get(key: Buffer, options: { asBuffer?: boolean; fillCache?: boolean }, callback: Callback<Buffer>): void;
  getMany(
    keys: Buffer[],
    options: { asBuffer?: boolean },
    callback: Callback<Array<Buffer | undefined>>,
  ): void;
  batch(): NativeBatch;
  iterator(options: RangeOptions & { keyAsBuffer: true; valueAsBuffer: true }): NativeIterator;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rocksdb = require('rocksdb') as (location: string) => NativeDb;

export interface RangeOptions {
  gte?: Buffer;
  lt?: Buffer;
  reverse?: boolean;
  limit?: number;
  keys?: boolean;
  values?: boolean;
}

/** A batch of writes applied atomically by write(); synced to disk unless told otherwise. */
export class RocksBatch {
  private operations = 0;

  constructor(
    private readonly native: NativeBatch,
    private readonly name: string,
  ) {}

  put(key: Buffer, value: Buffer): void {
    this.native.put(key, value);
    this.operations++;
  }

  del(key: Buffer): void {
    this.native.del(key);
    this.operations++;
  }

  get length(): number {
    return this.operations;
  }

  async write(options: { sync: boolean } = { sync: true }): Promise<void> {
    if (this.operations === 0) return;
    await call<void>(`${this.name}: batch write`, (cb) => this.native.write(options, cb));
  }
}

export interface RocksDbOptions {
  /** The memtable's size: RocksDB writes an L0 file each time one fills. RocksDB's default (4 MiB) if absent. */
  writeBufferBytes?: number | undefined;
}

export class RocksDb {
  private constructor(
    private readonly native: NativeDb,
    readonly dir: string,
  ) {}

  /** Opens (creating) the database in `dir`; a second open of the same directory fails on RocksDB's LOCK. */
  static async open(dir: string, options: RocksDbOptions = {}): Promise<RocksDb> {
    mkdirSync(dir, { recursive: true });
    const native = rocksdb(dir);
    const settings = {
      createIfMissing: true,
      ...(options.writeBufferBytes === undefined ? {} : { writeBufferSize: options.writeBufferBytes }),
    };
    await call<void>(`open ${dir}`, (cb) => native.open(settings, cb));
    lowerCompactionPriority();
    return new RocksDb(native, dir);
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    try {
      return await new Promise<Buffer | undefined>((resolve, reject) =>
        this.native.get(key, { asBuffer: true }, (err, value) => (err ? reject(err) : resolve(value))),
      );
    } catch (err) {
      if (/^NotFound/.test(String((err as { message?: unknown }).message))) return undefined;
      throw new StorageError('IndexIo', `${this.dir}: get failed`, { cause: err });
    }
  }

  /** Values for many keys in one call; undefined where a key is absent. */
  getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    return call<Array<Buffer | undefined>>(`${this.dir}: getMany`, (cb) =>
      this.native.getMany(keys, { asBuffer: true }, cb),
    );
  }

  batch(): RocksBatch {
    return new RocksBatch(this.native.batch(), this.dir);
  }

  /** Visits [gte, lt) in key order (or reversed); stops early when the visitor returns false. */
  async forEach(range: RangeOptions, visit: (key: Buffer, value: Buffer) => boolean | void): Promise<void> {
    const iterator = this.native.iterator({ ...range, keyAsBuffer: true, valueAsBuffer: true });
    try {
      for (;;) {
        const row = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
          iterator.next((err, key, value) => {
            if (err) reject(err);
            else resolve(key === undefined ? undefined : [key, value ?? EMPTY]);
          }),
        );
        if (row === undefined || visit(row[0], row[1]) === false) return;
      }
    } catch (err) {
      throw new StorageError('IndexIo', `${this.dir}: scan failed`, { cause: err });
    } finally {
      await new Promise<void>((resolve) => iterator.end(() => resolve()));
    }
  }

  close(): Promise<void> {
    return call<void>(`close ${this.dir}`, (cb) => this.native.close(cb));
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Nice value of RocksDB's compaction threads. Compaction can wait; the bookie's event loop, which answers adds,
 * cannot. At RocksDB's default priority a compaction took a core for hundreds of ms at a time, and on two cores
 * shared with the event loop and clients the adds of those moments were answered tens of ms late. Nice 10 gives
 * it about a tenth of a core the event loop also wants, and every idle cycle.
 */
const COMPACTION_NICE = 10;
let compactionPriorityLowered = false;

/**
 * Lowers the CPU priority of RocksDB's low-priority pool (its compactions: threads `rocksdb:low<n>` of the
 * process-wide default Env, started by the first open), as RocksDB's Env::LowerThreadPoolCPUPriority does; the
 * binding does not expose that. The memtable flushes (`rocksdb:high<n>`) keep their priority: a late one stalls
 * writes. Linux only (threads found in /proc/self/task); elsewhere, or if that fails, compactions keep the
 * default priority, which costs latency, not correctness.
 */
function lowerCompactionPriority(): void {
  if (compactionPriorityLowered || process.platform !== 'linux') return;
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const tid of threads) {
    try {
      if (!readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('rocksdb:low')) continue;
      setPriority(Number(tid), COMPACTION_NICE);
      compactionPriorityLowered = true;
    } catch {
      // The thread ended meanwhile, or the priority cannot be set: that thread keeps the default.
    }
  }
}

function call<T>(what: string, start: (callback: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    start((err, value) =>
      err
        ? reject(new StorageError('IndexIo', `RocksDB ${what} failed`, { cause: err }))
        : resolve(value as T),
    ),
  );
}
