/*
 * The checkpoint mark: every ledger directory's `current/lastMark` holds `logFileId(8) | offset(8)`
 * (big-endian, BookKeeper's layout): journal records before it are in flushed ledger storage, so replay starts
 * there and older journal files may go. BookKeeper names it `lastMark.<journalIndex>` when a bookie has
 * several journal directories (`lastMarkFileName`).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common';
import { compareLogMarks, LOG_MARK_ZERO } from './journal-api';
import type { LogMark } from './journal-api';
import { JournalError } from './journal-errors';
import { fsyncDirectory } from './fsync-directory';

export const LAST_MARK_FILE_NAME = 'lastMark';
export const LOG_MARK_BYTES = 16;

/** `lastMark` for a bookie with one journal directory, `lastMark.<journalIndex>` with several. */
export function lastMarkFileName(journalIndex: number, journalCount: number): string {
  return journalCount > 1 ? `${LAST_MARK_FILE_NAME}.${journalIndex}` : LAST_MARK_FILE_NAME;
}

export function encodeLogMark(mark: LogMark): Buffer {
  const bytes = Buffer.alloc(LOG_MARK_BYTES);
  bytes.writeBigInt64BE(mark.logFileId, 0);
  bytes.writeBigInt64BE(mark.offset, 8);
  return bytes;
}

/** The mark in a lastMark file's bytes, or undefined when they cannot be one (wrong size, negative). */
export function decodeLogMark(bytes: Buffer): LogMark | undefined {
  if (bytes.length !== LOG_MARK_BYTES) return undefined;
  const logFileId = bytes.readBigInt64BE(0);
  const offset = bytes.readBigInt64BE(8);
  return logFileId < 0n || offset < 0n ? undefined : { logFileId, offset };
}

export interface LastMarkOptions {
  /** Defaults to `lastMark`; see lastMarkFileName. */
  fileName?: string;
  /** Told about lastMark files that are not a mark (replay then starts earlier, which is safe). */
  logger?: Logger;
}

/**
 * The newest mark over the ledger directories (each may hold a different one if a checkpoint was cut short),
 * LOG_MARK_ZERO when there is none. A file that is not a mark is skipped with a warning: starting replay
 * earlier only replays records storage already has. I/O errors other than a missing file throw.
 */
export async function readLastMark(
  ledgerDirs: readonly string[],
  options: LastMarkOptions = {},
): Promise<LogMark> {
  let newest = LOG_MARK_ZERO;
  for (const dir of ledgerDirs) {
    const path = join(dir, 'current', options.fileName ?? LAST_MARK_FILE_NAME);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const mark = decodeLogMark(bytes);
    if (mark === undefined) {
      options.logger?.warn({ path, bytes: bytes.length }, 'lastMark file is not a mark; ignoring it');
    } else if (compareLogMarks(mark, newest) > 0) {
      newest = mark;
    }
  }
  return newest;
}

/**
 * Writes `mark` to every ledger directory, each atomically: a temporary file, fsync, rename over lastMark,
 * fsync of the directory. A crash leaves either the old or the new mark, never a torn one. Throws
 * LastMarkWriteFailed (after trying every directory) if any directory failed.
 */
export async function writeLastMark(
  ledgerDirs: readonly string[],
  mark: LogMark,
  options: Pick<LastMarkOptions, 'fileName'> = {},
): Promise<void> {
  const bytes = encodeLogMark(mark);
  const fileName = options.fileName ?? LAST_MARK_FILE_NAME;
  const results = await Promise.allSettled(
    ledgerDirs.map((dir) => writeMarkFile(join(dir, 'current'), fileName, bytes)),
  );
  const failedAt = results.findIndex((result) => result.status === 'rejected');
  if (failedAt >= 0) {
    const cause = (results[failedAt] as PromiseRejectedResult).reason as unknown;
    throw new JournalError('LastMarkWriteFailed', `writing ${fileName} in ${ledgerDirs[failedAt]} failed`, {
      cause,
    });
  }
}

async function writeMarkFile(currentDir: string, fileName: string, bytes: Buffer): Promise<void> {
  await mkdir(currentDir, { recursive: true });
  const path = join(currentDir, fileName);
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await fsyncDirectory(currentDir);
}
