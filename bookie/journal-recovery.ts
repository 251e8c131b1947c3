import type { JournalReplayVisitor, LogMark, ReplayReport } from './journal/journal-api';
import { WriteCacheFullError } from './storage/ledger-storage-api';
import type { LedgerStorageApi } from './storage/ledger-storage-api';

/**
 * What the bookie needs from the journal's files, apart from the live journal: the checkpoint mark (`lastMark`
 * in the ledger dirs) and replay of the records after it.
 */
export interface JournalFiles {
  readLastMark(): Promise<LogMark>;
  writeLastMark(mark: LogMark): Promise<void>;
  replay(from: LogMark, visitor: JournalReplayVisitor): Promise<ReplayReport>;
}

/**
 * Re-applies every journal record after the last checkpoint to ledger storage, as BookKeeper does on start:
 * data records are re-added (re-adding an entry replaces it, so records already flushed before the crash are
 * harmless), LEDGER_KEY restores the master key, FENCE re-fences, EXPLICIT_LAC restores the explicit LAC.
 * A write cache that fills up during a long replay is flushed and the entry added again. Torn journal tails are
 * the replay's to report and log (a crash mid-write leaves one; its records were never acknowledged).
 */
export async function replayIntoStorage(
  files: JournalFiles,
  storage: LedgerStorageApi,
): Promise<{ mark: LogMark; report: ReplayReport }> {
  const mark = await files.readLastMark();
  const report = await files.replay(mark, {
    async entry(entry) {
      try {
        storage.addEntry(entry);
      } catch (error) {
        if (!(error instanceof WriteCacheFullError)) throw error;
        await storage.flush();
        storage.addEntry(entry);
      }
    },
    ledgerKey: (ledgerId, masterKey) => storage.setMasterKey(ledgerId, Buffer.from(masterKey)),
    fence: async (ledgerId) => {
      await storage.setFenced(ledgerId);
    },
    explicitLac: (ledgerId, lacBlob) => storage.setExplicitLac(ledgerId, Buffer.from(lacBlob)),
  });
  return { mark, report };
}
