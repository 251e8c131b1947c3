/**
 * Child processes for the journal's integration tests run the compiled journal (`dist/`, built by
 * `npm run build`). `journalChildScript` gives such a script: it defines `openJournal(journalDir)` (the test
 * config with `overrides`) and `writeLastMark`, then runs `body`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalConfig } from '../../../../bookie/journal';
import { testConfig } from './journal-fixtures';

const DIST = join(__dirname, '..', '..', '..', '..', 'dist');

/** Throws unless `npm run build` has compiled the journal. */
export function requireBuiltJournal(): void {
  if (!existsSync(join(DIST, 'bookie', 'journal', 'index.js'))) {
    throw new Error('dist/ has no journal: run `npm run build` first');
  }
}

export function journalChildScript(body: string, overrides: Partial<JournalConfig> = {}): string {
  const require = (path: string[]): string => `require(${JSON.stringify(join(DIST, ...path))})`;
  return `
const { Journal, writeLastMark } = ${require(['bookie', 'journal'])};
const { BookieMetrics } = ${require(['bookie', 'bookie-metrics'])};
const { silentLogger } = ${require(['common'])};
const openJournal = (journalDir) =>
  Journal.open({ journalDir, config: ${JSON.stringify(testConfig(overrides))}, logger: silentLogger(), metrics: new BookieMetrics() });
${body}
`;
}
