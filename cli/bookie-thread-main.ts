import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { BookieService, bookieConfigSchema } from '../bookie';
import { createRootLogger, sendError } from '../common';
import { PortMetadataStore } from '../metadata';
import { BOOKIE_THREAD_FAILED } from './bookie-thread';
import type { BookieThreadCommand, BookieThreadData, BookieThreadMessage } from './bookie-thread';

/*
 * The code of a standalone bookie thread (bookie-thread.ts starts it): a BookieService over the main thread's
 * metadata store (PortMetadataStore), stopped on the main side's 'stop', after which the thread ends.
 */

const data = workerData as BookieThreadData & { metadataPort: MessagePort };
const port = parentPort!;
const post = (message: BookieThreadMessage): void => port.postMessage(message);

async function main(): Promise<void> {
  const store = new PortMetadataStore(data.metadataPort);
  const logger = createRootLogger({ name: 'ledgerline-standalone' });
  let bookie: BookieService;
  try {
    bookie = await BookieService.start({
      config: bookieConfigSchema.parse(data.settings),
      logger,
      metadata: { store, scope: data.scope },
      onFatal: (error) => post({ type: 'fatal', error: sendError(error, BOOKIE_THREAD_FAILED) }),
    });
  } catch (error) {
    post({ type: 'failed', error: sendError(error, BOOKIE_THREAD_FAILED) });
    await store.close();
    data.metadataPort.close();
    port.close();
    return;
  }
  post({ type: 'ready', bookieId: bookie.bookieId });
  port.on('message', (command: BookieThreadCommand) => {
    if (command.type !== 'stop') return;
    void (async () => {
      try {
        await bookie.stop();
      } catch (error) {
        logger.error({ err: error }, 'the bookie did not stop cleanly');
      }
      await store.close();
      post({ type: 'stopped' });
      data.metadataPort.close();
      port.close();
    })();
  });
}

void main();
