import type { Logger } from '../common';
import { Bookie } from './bookie';
import type { BookieConfig } from './bookie-config';
import type { BookieMetrics } from './bookie-metrics';
import { Journal } from './journal';
import { journalFilesFor } from './journal-files';
import { DbLedgerStorage } from './storage';

/**
 * Opens a bookie's journal (a new file in the first journal directory) and DbLedgerStorage (the ledger
 * directories, the RocksDB indexes in the first index directory if one is set) and builds the Bookie over them.
 * The bookie is not started: call `start()` (journal replay) before serving, `close()` when done (it closes
 * the journal and storage too, also when start failed).
 */
export interface OpenedBookie {
  bookie: Bookie;
  /** The bookie owns these; they are exposed for what sits beside it (GC, failure handling, admin). */
  journal: Journal;
  storage: DbLedgerStorage;
}

export async function openBookie(options: {
  config: BookieConfig;
  logger: Logger;
  metrics: BookieMetrics;
}): Promise<Bookie> {
  return (await openBookieParts(options)).bookie;
}

/** openBookie, also handing back the journal and storage the bookie was built on. */
export async function openBookieParts(options: {
  config: BookieConfig;
  logger: Logger;
  metrics: BookieMetrics;
}): Promise<OpenedBookie> {
  const { config, logger, metrics } = options;
  const journal = await Journal.open({ journalDir: config.journalDirectories[0]!, config, logger, metrics });
  let storage: DbLedgerStorage;
  try {
    storage = await DbLedgerStorage.open({
      ledgerDirs: config.ledgerDirectories,
      indexDir: config.indexDirectories[0],
      config,
      logger,
      metrics,
    });
  } catch (error) {
    await journal.close();
    throw error;
  }
  const bookie = new Bookie({
    journal,
    storage,
    logger,
    metrics,
    config,
    journalFiles: journalFilesFor(config, logger),
  });
  return { bookie, journal, storage };
}
