import type { Logger } from '../common';
import type { BookieConfig } from './bookie-config';
import { readLastMark, replayJournals, writeLastMark } from './journal';
import type { JournalFiles } from './journal-recovery';

/**
 * The journal's files as a bookie with the given configuration keeps them: `lastMark` in every ledger
 * directory's `current/`, journal files in the first journal directory. One journal per bookie: the Bookie
 * writes through one JournalApi, so further journalDirectories are not used (BookKeeper spreads ledgers over
 * several journals by ledgerId; we do not yet).
 */
export function journalFilesFor(
  config: Pick<BookieConfig, 'journalDirectories' | 'ledgerDirectories' | 'nettyMaxFrameSizeBytes'>,
  logger: Logger,
): JournalFiles {
  const journalDir = config.journalDirectories[0]!;
  return {
    readLastMark: () => readLastMark(config.ledgerDirectories, { logger }),
    writeLastMark: (mark) => writeLastMark(config.ledgerDirectories, mark),
    replay: (from, visitor) =>
      replayJournals({ journalDir, from, visitor, logger, maxRecordBytes: config.nettyMaxFrameSizeBytes }),
  };
}
