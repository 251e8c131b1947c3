import type { Logger } from '../../common';
import { RegistrationClient, type MetadataStore, type RegisteredBookies, type Watch } from '../../metadata';
import type { BookieView } from './placement-policy';

const EMPTY: ReadonlySet<string> = new Set();

/**
 * The client's view of the registered bookies (BookKeeper's BookieWatcherImpl): the writable and read-only sets,
 * kept current by a watch on `<scope>/bookies/` through metadata's RegistrationClient. Bookie ids are `host:port`.
 *
 * Each change replaces the sets whole, so a set a caller holds never changes under it. A bookie moving between
 * states is registered in its new state before its old one is removed; while it is in both it is counted
 * read-only only, so a bookie going read-only is never offered for a new ensemble.
 */
export class BookieWatcher implements BookieView {
  private writableBookies: ReadonlySet<string> = EMPTY;
  private readOnlyBookies: ReadonlySet<string> = EMPTY;
  private watch: Watch | undefined;

  private constructor(private readonly logger: Logger) {}

  /** Starts watching; resolves once the first listing of both states is in. */
  static async start(store: MetadataStore, scope: string, logger: Logger): Promise<BookieWatcher> {
    const watcher = new BookieWatcher(logger.child({ component: 'bookie-watcher' }));
    const registrations = new RegistrationClient(store, scope, logger);
    watcher.watch = await registrations.watchBookies((bookies) => watcher.update(bookies));
    watcher.logger.info(
      { writable: watcher.writableBookies.size, readOnly: watcher.readOnlyBookies.size },
      'watching bookies',
    );
    return watcher;
  }

  writable(): ReadonlySet<string> {
    return this.writableBookies;
  }

  readOnly(): ReadonlySet<string> {
    return this.readOnlyBookies;
  }

  /** Stops watching; the sets keep their last contents. Idempotent. */
  async close(): Promise<void> {
    const watch = this.watch;
    this.watch = undefined;
    await watch?.close();
  }

  private update(bookies: RegisteredBookies): void {
    const readOnly = new Set(bookies.readOnly);
    const writable = new Set(bookies.writable.filter((bookieId) => !readOnly.has(bookieId)));
    const previous = { writable: this.writableBookies, readOnly: this.readOnlyBookies };
    this.writableBookies = writable;
    this.readOnlyBookies = readOnly;
    if (this.watch === undefined) return; // the first listing: start() logs it
    const onlyIn = (now: ReadonlySet<string>, before: ReadonlySet<string>): string[] =>
      [...now].filter((bookieId) => !before.has(bookieId));
    const changes = {
      writableAdded: onlyIn(writable, previous.writable),
      writableRemoved: onlyIn(previous.writable, writable),
      readOnlyAdded: onlyIn(readOnly, previous.readOnly),
      readOnlyRemoved: onlyIn(previous.readOnly, readOnly),
    };
    // A bookie changing state shows up in both lists for a moment; that moment changes nothing here.
    if (Object.values(changes).some((ids) => ids.length > 0)) this.logger.info(changes, 'bookies changed');
  }
}
