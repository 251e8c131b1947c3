import { open } from 'node:fs/promises';

/**
 * fsyncs a directory, so that a file created or renamed in it survives a power loss: fdatasync on the file
 * makes its data durable, not the directory entry that names it.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
