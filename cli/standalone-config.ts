import { z } from 'zod';
import { setting } from '../common';

/** `ledgerline standalone` settings (conf/standalone.conf). */
export const standaloneConfigSchema = z.object({
  /** Where the embedded metadata store and the bookies' directories live. */
  dataDir: setting.string('data'),
});

export type StandaloneConfig = z.infer<typeof standaloneConfigSchema>;
