import { z } from 'zod';
import { setting } from '../common';

/**
 * What `ledgerline shell` needs: where the metadata lives. Read from `--conf` (any ledgerline conf file; keys other
 * than these are ignored there, since a bookie's or broker's file serves the shell too), the environment, or flags.
 */
export const shellConfigSchema = z.object({
  metadataServiceUri: setting.string(''),
  zkTimeout: setting.integer(10000, { min: 1000 }),
});

export type ShellConfig = z.infer<typeof shellConfigSchema>;
