/**
 * Byte ranges over the key space, shared by both store implementations so that `list` and prefix watches select
 * exactly the same keys. Keys are UTF-8 strings compared as bytes (etcd's and RocksDB's default order).
 */

/** A half-open byte range [start, end); `end` undefined means "to the end of the key space". */
export interface KeyRange {
  start: Buffer;
  end: Buffer | undefined;
}

export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

/**
 * The smallest key greater than every key starting with `prefix`: the prefix with its last byte below 0xff
 * incremented and the rest dropped. `undefined` when there is none (empty prefix or all 0xff bytes).
 */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i]!;
    if (byte < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return undefined;
}

/** The keys starting with `prefix`, further narrowed to [start, end) when those are given. */
export function listRange(prefix: string, options: { start?: string; end?: string } = {}): KeyRange {
  const prefixBytes = keyBytes(prefix);
  let start = prefixBytes;
  let end = prefixEnd(prefixBytes);
  if (options.start !== undefined) {
    const wanted = keyBytes(options.start);
    if (Buffer.compare(wanted, start) > 0) start = wanted;
  }
  if (options.end !== undefined) {
    const wanted = keyBytes(options.end);
    if (end === undefined || Buffer.compare(wanted, end) < 0) end = wanted;
  }
  return { start, end };
}

/** True when `key` lies in `range`. */
export function inRange(key: Buffer, range: KeyRange): boolean {
  return (
    Buffer.compare(key, range.start) >= 0 && (range.end === undefined || Buffer.compare(key, range.end) < 0)
  );
}

/** True when the range can hold no key (start at or past end). */
export function isEmptyRange(range: KeyRange): boolean {
  return range.end !== undefined && Buffer.compare(range.start, range.end) >= 0;
}
