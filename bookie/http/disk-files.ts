import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CURRENT_DIR } from '../identity';
import type { BookieDiskFiles } from './admin-target';

export interface BookieDirs {
  journalDirs: readonly string[];
  ledgerDirs: readonly string[];
  /** Empty or absent: the index lives in the ledger dirs. */
  indexDirs?: readonly string[];
}

interface FoundFile {
  name: string;
  mtimeMs: number;
}

/** Files ending in `.<extension>` in each dir's current/, oldest first (BookieShell.listFilesAndSort). */
async function listFilesAndSort(dirs: readonly string[], extension: string): Promise<string[]> {
  const found: FoundFile[] = [];
  for (const dir of new Set(dirs)) {
    const current = join(dir, CURRENT_DIR);
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const name of names.filter((n) => n.endsWith(`.${extension}`))) {
      try {
        found.push({ name, mtimeMs: (await stat(join(current, name))).mtimeMs });
      } catch (error) {
        // Deleted between the listing and the stat (a journal or entry log garbage collected meanwhile).
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  found.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
  return found.map((f) => f.name);
}

/** The bookie's journal files, entry logs and index files, for AdminTarget.listDiskFiles. */
export async function listBookieDiskFiles(dirs: BookieDirs): Promise<BookieDiskFiles> {
  const indexDirs =
    dirs.indexDirs !== undefined && dirs.indexDirs.length > 0 ? dirs.indexDirs : dirs.ledgerDirs;
  const [journal, entryLog, index] = await Promise.all([
    listFilesAndSort(dirs.journalDirs, 'txn'),
    listFilesAndSort(dirs.ledgerDirs, 'log'),
    listFilesAndSort(indexDirs, 'idx'),
  ]);
  return { journal, entryLog, index };
}
