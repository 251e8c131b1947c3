import { closeSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';

/**
 * A power cut, reconstructed from an strace log. A SIGKILL loses nothing (the page cache survives it), so a test
 * that wants to see what a power cut would lose runs the process under
 *   strace -f -y -s 0 -e trace=write,pwrite64,pwritev,writev,fdatasync,fsync,ftruncate,fallocate -o <log>
 * kills it, and then rolls every file it cares about back to what its syncs made durable. The log is the only
 * source: the model does not trust the code under test to say what it synced.
 *
 * The rule. A write is durable if a successful fdatasync/fsync of the same file (through any descriptor: the
 * kernel syncs the file, not the descriptor) *started* after the write completed. Writes that completed while
 * a sync was running, or after the last one, are lost. ptrace stops each thread at every syscall entry and
 * exit until strace has logged it, so the order of the lines is the order of those events: a thread that
 * starts a sync because a write returned cannot have its sync line logged before that write's result.
 *
 * Lost bytes read back as zeros, and the file ends at its durable extent (the highest end of a durable write).
 * That is exact for appends past the durable extent (gone) and for records written over blocks that were
 * zero-filled and synced first (the journal's preallocation). It would be wrong for an unsynced overwrite of
 * durable non-zero bytes (an entry log's header rewritten when the log rotates), so files marked append-only
 * refuse a lost write that starts inside their durable extent instead of modelling it.
 */

/** One write or sync of a tracked file, as the strace log shows it. */
interface TracedCall {
  readonly name: string;
  readonly path: string;
  /** Text between the parentheses. */
  readonly args: string;
  /** The result, or undefined if the process died in the call. */
  readonly result: number | undefined;
  /** Line numbers of the call's entry and of its result. */
  readonly startedAt: number;
  readonly completedAt: number;
}

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What the log says about one file. */
export interface FileDurability {
  readonly path: string;
  /** The highest end offset of a durable write: the file's length after the power cut. */
  readonly durableBytes: number;
  /** Byte ranges of writes the power cut loses, merged, in offset order. */
  readonly lostRanges: ByteRange[];
  readonly writes: number;
  readonly syncs: number;
}

const WRITES = new Set(['pwrite64', 'pwritev', 'write', 'writev']);
const SYNCS = new Set(['fdatasync', 'fsync']);
/** `1234 name(3</path>, ...` or `1234 <... name resumed>...`; the fd's path is printed by strace -y. */
const CALL_LINE = /^(\d+) +(\w+)\((\d+)<([^>]*)>(.*)$/;
const RESUMED_LINE = /^(\d+) +<\.\.\. (\w+) resumed>(.*)$/;
const RESULT = /\) += (-?\d+|\?)(?: .*)?$/;
const UNFINISHED = ' <unfinished ...>';

/**
 * Reads an strace log (written with -f -y) and returns, for each file `tracked` accepts, which of its writes
 * survive a power cut at the end of the log. Throws on a call the model cannot place: a write without an
 * offset or a size change (ftruncate, fallocate) of a tracked file.
 */
export function durabilityFromStrace(log: string, tracked: (path: string) => boolean): FileDurability[] {
  const calls = new Map<string, TracedCall[]>();
  const open = new Map<string, { name: string; path: string; args: string; startedAt: number }>();
  const record = (call: TracedCall): void => {
    if (!tracked(call.path)) return;
    if (!WRITES.has(call.name) && !SYNCS.has(call.name)) {
      throw new Error(`${call.name} of ${call.path} changes its size: the power-cut model cannot place it`);
    }
    if (call.name === 'write' || call.name === 'writev') {
      throw new Error(
        `${call.name} of ${call.path} has no offset: the power-cut model needs pwrite64/pwritev`,
      );
    }
    let list = calls.get(call.path);
    if (list === undefined) calls.set(call.path, (list = []));
    list.push(call);
  };
  const lines = log.split('\n');
  lines.forEach((line, lineNumber) => {
    const resumed = RESUMED_LINE.exec(line);
    if (resumed !== null) {
      const [, pid, name, rest] = resumed as unknown as [string, string, string, string];
      const started = open.get(pid);
      if (started === undefined || started.name !== name) return;
      open.delete(pid);
      record({
        ...started,
        args: started.args + rest.replace(RESULT, ''),
        result: resultOf(rest),
        completedAt: lineNumber,
      });
      return;
    }
    const call = CALL_LINE.exec(line);
    if (call === null) return;
    const [, pid, name, , path, rest] = call as unknown as [string, string, string, string, string, string];
    if (rest.endsWith(UNFINISHED)) {
      open.set(pid, { name, path, args: rest.slice(0, -UNFINISHED.length), startedAt: lineNumber });
      return;
    }
    record({
      name,
      path,
      args: rest.replace(RESULT, ''),
      result: resultOf(rest),
      startedAt: lineNumber,
      completedAt: lineNumber,
    });
  });
  // Calls still open when the log ended: the process died in them. A write may have reached the page cache.
  for (const started of open.values()) {
    if (tracked(started.path) && WRITES.has(started.name)) {
      record({ ...started, result: undefined, completedAt: lines.length });
    }
  }
  return [...calls.entries()].map(([path, list]) => fileDurability(path, list));
}

function resultOf(text: string): number | undefined {
  const match = RESULT.exec(text);
  return match === null || match[1] === '?' ? undefined : Number(match[1]);
}

function fileDurability(path: string, calls: TracedCall[]): FileDurability {
  const syncs = calls.filter((c) => SYNCS.has(c.name) && c.result === 0);
  const lastSyncStart = syncs.reduce((latest, c) => Math.max(latest, c.startedAt), -1);
  let durableBytes = 0;
  const lost: ByteRange[] = [];
  let writes = 0;
  for (const call of calls) {
    if (!WRITES.has(call.name)) continue;
    writes++;
    const range = writtenRange(call);
    if (range === undefined) continue;
    if (call.completedAt < lastSyncStart) durableBytes = Math.max(durableBytes, range.end);
    else lost.push(range);
  }
  return { path, durableBytes, lostRanges: merge(lost), writes, syncs: syncs.length };
}

/** pwrite64(fd, buf, count, offset) / pwritev(fd, iov, iovcnt, offset): offset is the last argument. */
function writtenRange(call: TracedCall): ByteRange | undefined {
  const numbers = call.args.match(/-?\d+/g) ?? [];
  const offset = Number(numbers.at(-1));
  if (call.result !== undefined) {
    return call.result > 0 ? { start: offset, end: offset + call.result } : undefined;
  }
  // Died in the call: as many bytes as it asked for may be in the page cache (pwrite64's count).
  const count = call.name === 'pwrite64' ? Number(numbers.at(-2)) : Number.NaN;
  if (!Number.isFinite(count)) throw new Error(`cannot size an unfinished ${call.name} of ${call.path}`);
  return { start: offset, end: offset + count };
}

function merge(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.start <= last.end) {
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, range.end) };
    } else {
      merged.push(range);
    }
  }
  return merged;
}

export interface PowerCutOptions {
  /** Files whose lost writes must all lie past their durable extent (see the model above). */
  appendOnly?: boolean;
  /**
   * Bytes of the first lost range that reached the disk anyway (a torn write: a prefix of what was written
   * persisted). Clamped to that range's length.
   */
  tornBytes?: number;
}

/**
 * Rolls `file` back to what a power cut leaves of it: lost ranges zeroed (but `tornBytes` of the first one),
 * the file cut to its durable extent (or to the end of the torn prefix, if further). Returns the bytes the cut
 * changed or removed.
 */
export function cutPower(file: FileDurability, options: PowerCutOptions = {}): number {
  const first = file.lostRanges[0];
  if (options.appendOnly === true && first !== undefined && first.start < file.durableBytes) {
    throw new Error(
      `${file.path}: a lost write at ${first.start} overwrites durable bytes (< ${file.durableBytes}); ` +
        'the power-cut model cannot restore them',
    );
  }
  const tornEnd =
    first === undefined ? 0 : first.start + Math.min(options.tornBytes ?? 0, first.end - first.start);
  const sizeBefore = statSync(file.path).size;
  const length = Math.min(sizeBefore, Math.max(file.durableBytes, tornEnd));
  let changed = Math.max(0, sizeBefore - length);
  const fd = openSync(file.path, 'r+');
  try {
    for (const range of file.lostRanges) {
      const start = range === first ? tornEnd : range.start;
      const end = Math.min(range.end, length);
      if (start >= end) continue;
      writeSync(fd, Buffer.alloc(end - start), 0, end - start, start);
      changed += end - start;
    }
    ftruncateSync(fd, length);
  } finally {
    closeSync(fd);
  }
  return changed;
}
