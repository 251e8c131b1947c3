/**
 * The lastMark checkpoint file in real ledger directories: its 16-byte layout, the newest mark over several
 * directories, files that are not a mark, atomic replacement, and a directory that cannot be written.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import {
  decodeLogMark,
  encodeLogMark,
  lastMarkFileName,
  LOG_MARK_ZERO,
  readLastMark,
  writeLastMark,
} from '../../../../bookie/journal';
import type { JournalError } from '../../../../bookie/journal';
import { TempDirs } from '../../../harness';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

describe('bookie > journal > lastMark', () => {
  it('is logFileId(8) | offset(8), big-endian', () => {
    const bytes = encodeLogMark({ logFileId: 0x19a2b3c4d5en, offset: 4096n });
    expect(bytes.toString('hex')).toBe('0000019a2b3c4d5e' + '0000000000001000');
    expect(decodeLogMark(bytes)).toEqual({ logFileId: 0x19a2b3c4d5en, offset: 4096n });
    expect(decodeLogMark(bytes.subarray(0, 15))).toBeUndefined();
    expect(decodeLogMark(Buffer.alloc(16, 0xff))).toBeUndefined();
  });

  it('round trips through every ledger directory', async () => {
    const dirs = [temp.make(), temp.make()];
    const mark = { logFileId: 0x123n, offset: 2048n };
    await writeLastMark(dirs, mark);
    for (const dir of dirs) {
      expect(readFileSync(join(dir, 'current', 'lastMark'))).toEqual(encodeLogMark(mark));
      expect(readdirSync(join(dir, 'current'))).toEqual(['lastMark']); // no temporary file left behind
    }
    expect(await readLastMark(dirs)).toEqual(mark);
    await writeLastMark(dirs, { logFileId: 0x124n, offset: 512n });
    expect(await readLastMark(dirs)).toEqual({ logFileId: 0x124n, offset: 512n });
  });

  it('reads the newest mark over the directories; LOG_MARK_ZERO when there is none', async () => {
    const [a, b, c] = [temp.make(), temp.make(), temp.make()];
    expect(await readLastMark([a!, b!, join(c!, 'missing')])).toEqual(LOG_MARK_ZERO);
    await writeLastMark([a!], { logFileId: 5n, offset: 9000n });
    await writeLastMark([b!], { logFileId: 6n, offset: 512n });
    expect(await readLastMark([a!, b!, c!])).toEqual({ logFileId: 6n, offset: 512n });
    await writeLastMark([c!], { logFileId: 6n, offset: 1024n });
    expect(await readLastMark([a!, b!, c!])).toEqual({ logFileId: 6n, offset: 1024n });
  });

  it('skips a file that is not a mark, with a warning, and uses the others', async () => {
    const [a, b] = [temp.make(), temp.make()];
    await writeLastMark([a!], { logFileId: 5n, offset: 512n });
    mkdirSync(join(b!, 'current'));
    writeFileSync(join(b!, 'current', 'lastMark'), Buffer.alloc(7, 1));
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    expect(await readLastMark([a!, b!], { logger })).toEqual({ logFileId: 5n, offset: 512n });
    expect(lines.join('')).toContain('lastMark file is not a mark');
  });

  it('leftovers of an interrupted write (a torn temporary file) change nothing', async () => {
    const dir = temp.make();
    await writeLastMark([dir], { logFileId: 7n, offset: 512n });
    writeFileSync(join(dir, 'current', 'lastMark.tmp'), Buffer.alloc(3, 9)); // crash before the rename
    expect(await readLastMark([dir])).toEqual({ logFileId: 7n, offset: 512n });
    await writeLastMark([dir], { logFileId: 8n, offset: 0n });
    expect(await readLastMark([dir])).toEqual({ logFileId: 8n, offset: 0n });
  });

  it('names the file per journal when there are several journals', async () => {
    expect(lastMarkFileName(0, 1)).toBe('lastMark');
    expect(lastMarkFileName(1, 2)).toBe('lastMark.1');
    const dir = temp.make();
    await writeLastMark([dir], { logFileId: 1n, offset: 1n }, { fileName: lastMarkFileName(1, 2) });
    expect(await readLastMark([dir])).toEqual(LOG_MARK_ZERO);
    expect(await readLastMark([dir], { fileName: 'lastMark.1' })).toEqual({ logFileId: 1n, offset: 1n });
  });

  it('fails with LastMarkWriteFailed when a directory cannot be written, after writing the others', async () => {
    const good = temp.make();
    const bad = join(temp.make(), 'a-file');
    writeFileSync(bad, 'not a directory');
    const error = (await writeLastMark([bad, good], { logFileId: 3n, offset: 3n }).catch(
      (e: unknown) => e,
    )) as JournalError;
    expect(error.code).toBe('LastMarkWriteFailed');
    expect(error.message).toContain(bad);
    expect(error.cause).toMatchObject({ code: 'ENOTDIR' });
    expect(await readLastMark([good])).toEqual({ logFileId: 3n, offset: 3n });
  });
});
