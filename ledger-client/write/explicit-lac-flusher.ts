import type { Logger } from '../../common';
import { StatusCode } from '../../protocol';
import type { DigestManager } from '../../protocol';
import type { ClientContext } from '../client-context';
import type { LedgerWriter } from './ledger-writer';

/**
 * BookKeeper's ExplicitLacFlushPolicy. Readers learn the LAC from the entries that carry it, so the last
 * confirmed entries stay invisible to them while the writer is idle. Every `explicitLacInterval` ms this checks
 * whether no add was sent since the previous check and the LAC passed both the one the last entry carried and
 * the one last flushed; if so it sends the LAC to every bookie of the ensemble with WRITE_LAC. A failed flush is
 * only logged: the next add or the next idle period carries the LAC again.
 */
export class ExplicitLacFlusher {
  private readonly timer: NodeJS.Timeout;
  private readonly logger: Logger;
  private lastFlushedLac = -1n;
  private addsSentAtLastCheck = -1;

  constructor(
    private readonly ctx: ClientContext,
    private readonly writer: LedgerWriter,
    private readonly digest: DigestManager,
    private readonly masterKey: Buffer,
    intervalMs: number,
  ) {
    this.logger = ctx.logger.child({ ledgerId: writer.ledgerId.toString() });
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const { lastAddConfirmed: piggybacked, addsSent } = this.writer.piggyback();
    const idle = addsSent === this.addsSentAtLastCheck;
    this.addsSentAtLastCheck = addsSent;
    const lac = this.writer.lastAddConfirmed();
    if (!idle || lac <= piggybacked || lac <= this.lastFlushedLac) return;
    if (this.writer.error() !== undefined || this.ctx.isClosed()) return;
    this.lastFlushedLac = lac;
    const request = {
      ledgerId: this.writer.ledgerId,
      lac,
      masterKey: this.masterKey,
      body: this.digest.packLac(lac),
    };
    for (const bookieId of this.writer.currentEnsemble()) {
      void this.ctx.bookieClient.writeLac(bookieId, request).then((outcome) => {
        if (outcome.ok && outcome.value === StatusCode.EOK) return;
        const reason = outcome.ok ? StatusCode[outcome.value] : outcome.error.failure;
        this.logger.warn({ bookieId, lac: lac.toString(), reason }, 'explicit LAC flush failed');
      });
    }
  }
}
