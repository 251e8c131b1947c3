/**
 * Goal: a managed ledger whose owner process is SIGKILLed at random moments loses, duplicates and reorders no
 * acknowledged entry, and its durable cursors never come back behind a mark-delete or an individual ack they had
 * persisted, nor ahead of what was ever acknowledged; redelivery starts right after the recovered mark-delete
 * (issue 5 "Crash").
 * Method: three real bookies on a real etcd (BookieCluster); E=Qw=Qa=2, the managed ledger's default quorums:
 * an add is acknowledged once two bookies journaled it, and a ledger left open by a crash is recovered from
 * bookies that may each hold a different tail, which is where an acknowledged entry could be lost (with 1/1/1
 * recovery has one copy to read and nothing to decide). Ledgers roll every 200 entries and cursor ledgers every
 * 100 PositionInfo entries, so kills also land in rollovers. Retention is unlimited, so every entry stays
 * readable for the check.
 * Round after round, a child process (test/fixtures/managed-ledger-process.js, our compiled code from dist/)
 * opens the managed ledger and cursors "cumulative" (markDelete of each batch's last entry) and "individual"
 * (shuffled individual acks, some held back for later batches), appends with 16 adds in flight and reports each
 * acknowledged add, each ack it is about to issue and each ack once persisted (half the rounds with the rate
 * limit 0, every ack persisted before it resolves; the other half throttled, reported only after flush()). The
 * test SIGKILLs it — a fifth of the time at a random moment of its start-up, otherwise 50–1,200 ms after it
 * reported ready — then opens the managed ledger itself (which recovers the last ledger) and checks:
 *   - the entries added since the last round are exactly that child's payloads 0..m-1 in order (a prefix of
 *     what it sent: nothing lost, duplicated, reordered or foreign), with every acknowledged add at the position
 *     it was acknowledged with, and the entries of earlier rounds still where they were;
 *   - cursor "cumulative" is at or past its last persisted (or previously recovered) mark-delete and not past
 *     the furthest one ever issued; cursor "individual" still has every persisted individual ack (below its
 *     mark-delete or in its ranges), has nothing acked that was never issued, and its mark-delete never moved
 *     back; each cursor's next read returns the entries right after its mark-delete (skipping individually
 *     deleted ones);
 *   - the ledger list has no empty ledger but the current one, every ledger before the current one is closed in
 *     BookKeeper with the entries the list counts, and the entry count and size are what was read.
 * At the end a fresh open reads every entry from the start.
 * Seed: LEDGERLINE_SEED, else random; it is in the test name and every failure message. It drives the kill
 * schedule and the children's choices (batch sizes, shuffles); process timing is not reproducible.
 */
import { Position } from '../../managed-ledger';
import type { ManagedCursor, ManagedLedger, ManagedLedgerConfig } from '../../managed-ledger';
import type { BookKeeper } from '../../ledger-client';
import { seededRandom, testSeed } from '../harness';
import {
  ManagedLedgerChild,
  managedLedgerCluster,
  payload,
  readToEnd,
} from '../fixtures/managed-ledger-child';
import type { ChildLine, ManagedLedgerCluster } from '../fixtures/managed-ledger-child';

const SEED = testSeed();
const KILLS = 22;
const NAME = 'public/default/persistent/crash';
const BASE_CONFIG: Partial<ManagedLedgerConfig> = {
  managedLedgerDefaultEnsembleSize: 2,
  managedLedgerDefaultWriteQuorum: 2,
  managedLedgerDefaultAckQuorum: 2,
  managedLedgerMaxEntriesPerLedger: 200,
  managedLedgerMinLedgerRolloverTimeMinutes: 0,
  managedLedgerCursorMaxEntriesPerLedger: 100,
  defaultRetentionTimeInMinutes: -1,
  defaultRetentionSizeInMB: -1,
};
/** "every": each mark-delete persisted before it resolves; "flush": 5 persisted per second, the rest flushed. */
const RATE_LIMIT = { every: 0, flush: 5 } as const;
/** Entries each cursor reads back after recovery to check where redelivery starts. */
const REDELIVERY_CHECK = 3;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface StoredEntry {
  position: Position;
  payload: string;
}

/** What the rounds so far established, and the checks of one round against it. */
class CrashChecker {
  /** Every entry of the managed ledger, in order, as read and verified after each round. */
  readonly entries: StoredEntry[] = [];
  /** Cursor "cumulative": the mark-delete it may never again be behind, and the furthest one ever issued. */
  cumulativeFloor: Position | undefined;
  cumulativeIssued: Position | undefined;
  /** Cursor "individual": its last recovered mark-delete, acks that must survive, acks ever issued. */
  individualFloor: Position | undefined;
  readonly mustStayDeleted = new Map<string, Position>();
  readonly issuedDeletes = new Set<string>();
  /** Ledgers already checked to be closed with the entries their LedgerInfo counts. */
  readonly closedLedgers = new Set<bigint>();
  problems: string[] = [];

  /** Index of the first stored entry after `p` (entries.length when none). */
  indexAfter(p: Position): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.position.compareTo(p) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  problem(text: string): void {
    if (this.problems.length < 20) this.problems.push(text);
  }

  /** Reads the entries added since the last round and checks them against the child's acknowledgements. */
  async checkEntries(ml: ManagedLedger, tag: string, lines: ChildLine[]): Promise<void> {
    const reader = ml.newNonDurableCursor('earliest', 'crash-check');
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined) reader.seek(last.position);
    const read = await readToEnd(reader, (e) => ({ position: e.position, payload: e.data.toString() }));
    if (last !== undefined) {
      const first = read.shift();
      if (first === undefined || !first.position.equals(last.position) || first.payload !== last.payload) {
        this.problem(
          `re-reading the last entry of the previous round at ${last.position} gave ${first?.position}`,
        );
        return;
      }
    }
    let previous = last?.position;
    read.forEach((entry, i) => {
      if (entry.payload !== payload(tag, i)) {
        this.problem(
          `entry ${entry.position} holds "${entry.payload.slice(0, 30)}", expected ${tag}'s add ${i}`,
        );
      }
      if (previous !== undefined && !entry.position.isAfter(previous)) {
        this.problem(`entry ${entry.position} read after ${previous}`);
      }
      previous = entry.position;
    });
    let nextAck = 0;
    for (const line of lines) {
      if (line.a === undefined) continue;
      if (line.a !== nextAck) this.problem(`${tag} had add ${line.a} acknowledged when ${nextAck} was next`);
      nextAck = line.a + 1;
      const found = read[line.a];
      if (found === undefined) this.problem(`${tag}'s acknowledged add ${line.a} at ${line.p} is lost`);
      else if (found.position.toString() !== line.p) {
        this.problem(`${tag}'s add ${line.a} was acknowledged at ${line.p} but is at ${found.position}`);
      }
    }
    this.entries.push(...read);
    if (ml.getNumberOfEntries() !== this.entries.length) {
      this.problem(`getNumberOfEntries() = ${ml.getNumberOfEntries()}, read ${this.entries.length}`);
    }
  }

  /**
   * LedgerChaining: no empty ledger in the list but the current one, ids increasing, and every ledger before the
   * current one closed in BookKeeper with exactly the entries the list counts (only one ledger open for writes).
   * Also the managed ledger's size: the sum of the payloads.
   */
  async checkLedgerChain(ml: ManagedLedger, bookKeeper: BookKeeper): Promise<void> {
    const ledgers = ml.getLedgersInfo();
    for (let i = 0; i < ledgers.length; i++) {
      const info = ledgers[i]!;
      const current = i === ledgers.length - 1;
      if (!current && Number(info.entries) === 0) {
        this.problem(`empty ledger ${info.ledgerId} in the list (not the current one)`);
      }
      if (i > 0 && info.ledgerId <= ledgers[i - 1]!.ledgerId) {
        this.problem(`ledger ${info.ledgerId} listed after ${ledgers[i - 1]!.ledgerId}`);
      }
      if (current || this.closedLedgers.has(info.ledgerId)) continue;
      const metadata = await bookKeeper.getLedgerMetadata(info.ledgerId);
      if (metadata.state !== 'CLOSED' || metadata.lastEntryId + 1n !== BigInt(info.entries)) {
        this.problem(
          `ledger ${info.ledgerId} is ${metadata.state} at ${metadata.lastEntryId}, listed with ${info.entries} entries`,
        );
      }
      this.closedLedgers.add(info.ledgerId);
    }
    const size = this.entries.reduce((sum, e) => sum + Buffer.byteLength(e.payload), 0);
    if (ml.getTotalSize() !== size)
      this.problem(`getTotalSize() = ${ml.getTotalSize()}, payloads ${size} bytes`);
  }

  /** The recovered cursor's next entries must be the stored ones right after its mark-delete, minus `skip`. */
  async checkRedelivery(cursor: ManagedCursor, skip: (p: Position) => boolean): Promise<void> {
    const expected: string[] = [];
    for (let i = this.indexAfter(cursor.getMarkDeletedPosition()); i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (skip(entry.position)) continue;
      expected.push(`${entry.position} ${entry.payload.slice(0, 12)}`);
      if (expected.length === REDELIVERY_CHECK) break;
    }
    const got =
      expected.length === 0 && !cursor.hasMoreEntries()
        ? []
        : (await cursor.readEntries(REDELIVERY_CHECK)).map(
            (e) => `${e.position} ${e.data.toString().slice(0, 12)}`,
          );
    if (got.join() !== expected.join()) {
      this.problem(
        `cursor ${cursor.name} at mark-delete ${cursor.getMarkDeletedPosition()} redelivers [${got.join(', ')}], expected [${expected.join(', ')}]`,
      );
    }
  }

  async checkCumulative(ml: ManagedLedger, lines: ChildLine[]): Promise<void> {
    const cursor = await ml.openCursor('cumulative', { initialPosition: 'earliest' });
    let floor = this.cumulativeFloor;
    for (const line of lines) {
      if (line.md !== undefined) floor = max(floor, Position.parse(line.md));
      if (line.mi !== undefined) this.cumulativeIssued = max(this.cumulativeIssued, Position.parse(line.mi));
    }
    // Compared by how many stored entries they cover: (L, last) and (next L, -1) say the same thing.
    const recovered = cursor.getMarkDeletedPosition();
    const covered = this.indexAfter(recovered);
    if (floor !== undefined && covered < this.indexAfter(floor)) {
      this.problem(`cursor cumulative recovered at ${recovered}, behind its persisted mark-delete ${floor}`);
    }
    const issued = this.cumulativeIssued === undefined ? 0 : this.indexAfter(this.cumulativeIssued);
    if (covered > issued) {
      this.problem(
        `cursor cumulative recovered at ${recovered}, past any mark-delete issued (${this.cumulativeIssued})`,
      );
    }
    this.cumulativeFloor = max(floor, recovered);
    await this.checkRedelivery(cursor, () => false);
  }

  async checkIndividual(ml: ManagedLedger, lines: ChildLine[]): Promise<void> {
    const cursor = await ml.openCursor('individual', { initialPosition: 'earliest' });
    for (const line of lines) {
      for (const text of line.di ?? []) this.issuedDeletes.add(text);
      for (const text of line.d ?? []) this.mustStayDeleted.set(text, Position.parse(text));
    }
    const markDelete = cursor.getMarkDeletedPosition();
    const from = this.individualFloor === undefined ? 0 : this.indexAfter(this.individualFloor);
    if (this.indexAfter(markDelete) < from) {
      this.problem(
        `cursor individual recovered at ${markDelete}, behind its earlier recovered ${this.individualFloor}`,
      );
    }
    for (const [text, p] of this.mustStayDeleted) {
      if (p.compareTo(markDelete) <= 0) this.mustStayDeleted.delete(text);
      else if (!cursor.isIndividuallyDeleted(p)) {
        this.problem(`cursor individual lost the persisted ack of ${text} (mark-delete ${markDelete})`);
      }
    }
    // Everything acknowledged now (newly below the mark-delete, or in a range) was issued by some round, and
    // stays acknowledged from now on.
    for (let i = from; i < this.entries.length; i++) {
      const p = this.entries[i]!.position;
      const acked = !p.isAfter(markDelete);
      if (!acked && !cursor.isIndividuallyDeleted(p)) continue;
      if (!this.issuedDeletes.has(p.toString())) {
        this.problem(`cursor individual has ${p} acknowledged, an ack never issued`);
      }
      if (!acked) this.mustStayDeleted.set(p.toString(), p);
    }
    this.individualFloor = max(this.individualFloor, markDelete);
    await this.checkRedelivery(cursor, (p) => cursor.isIndividuallyDeleted(p));
  }
}

function max(a: Position | undefined, b: Position): Position {
  return a === undefined ? b : Position.max(a, b);
}

describe('managed-ledger > crash: SIGKILLed owner processes', () => {
  let started: ManagedLedgerCluster;
  let child: ManagedLedgerChild | undefined;
  managedLedgerCluster(
    3,
    () => [child],
    (s) => (started = s),
  );

  const openHere = async (config: Partial<ManagedLedgerConfig>) => {
    const factory = started.factory(config);
    return { factory, ml: await factory.open(NAME) };
  };

  test(`seed ${SEED}: ${KILLS} kills, no acknowledged entry lost, duplicated or reordered, no cursor behind what it persisted`, async () => {
    const random = seededRandom(SEED);
    const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
    const checker = new CrashChecker();
    const stats = { killedWhileReady: 0, acked: 0, persistedAcks: 0, modes: new Set<string>() };
    for (let round = 0; round < KILLS; round++) {
      const tag = `c${round}`;
      const persist = random() < 0.5 ? 'every' : 'flush';
      const config = { ...BASE_CONFIG, managedLedgerDefaultMarkDeleteRateLimit: RATE_LIMIT[persist] };
      const running = ManagedLedgerChild.spawn({
        mode: 'crash',
        metadataServiceUri: started.cluster.metadataServiceUri,
        name: NAME,
        tag,
        config,
        seed: between(0, 2 ** 31),
        persist,
      });
      child = running;
      if (random() < 0.2) {
        await sleep(between(0, 1500));
      } else {
        await running.waitFor(`${tag} to be ready (seed ${SEED})`, (l) => l.ready === true);
        await sleep(between(50, 1200));
        stats.killedWhileReady++;
        stats.modes.add(persist);
      }
      await running.kill();
      const lines = running.lines;
      const context = `seed ${SEED} (LEDGERLINE_SEED=${SEED}), round ${round} (${persist})`;
      // The child was working until the kill: it reported no error and did not exit on its own (its last line
      // may have been cut short by the kill, and is ignored).
      const killed =
        running.signalCode === 'SIGKILL' &&
        !lines.some((l) => l.error !== undefined) &&
        running.unparsable.length <= 1;
      expect({ context, child: killed ? 'killed' : running.describe() }).toEqual({
        context,
        child: 'killed',
      });
      stats.acked += lines.filter((l) => l.a !== undefined).length;
      stats.persistedAcks += lines.filter((l) => l.md !== undefined || l.d !== undefined).length;

      const { factory, ml } = await openHere(config);
      try {
        checker.problems = [];
        await checker.checkEntries(ml, tag, lines);
        await checker.checkLedgerChain(ml, started.bookKeeper);
        await checker.checkCumulative(ml, lines);
        await checker.checkIndividual(ml, lines);
        expect({ context, problems: checker.problems }).toEqual({ context, problems: [] });
      } finally {
        await factory.close();
      }
    }

    // A fresh owner reads every entry from the start, where the rounds found them.
    const { factory, ml } = await openHere(BASE_CONFIG);
    try {
      const all = await readToEnd(
        ml.newNonDurableCursor('earliest', 'final-check'),
        (e) => `${e.position} ${e.data.toString()}`,
        1000,
      );
      expect(all).toEqual(checker.entries.map((e) => `${e.position} ${e.payload}`));
    } finally {
      await factory.close();
    }
    // The run did what it claims: most kills hit a working owner, in both persistence modes, with entries
    // acknowledged and acks persisted.
    expect({
      seed: SEED,
      killedWhileReady: stats.killedWhileReady >= KILLS / 2,
      modes: [...stats.modes].sort(),
      acked: stats.acked > 1000,
      persistedAcks: stats.persistedAcks > 100,
      cumulativeMoved:
        checker.cumulativeFloor !== undefined && checker.indexAfter(checker.cumulativeFloor) > 0,
    }).toEqual({
      seed: SEED,
      killedWhileReady: true,
      modes: ['every', 'flush'],
      acked: true,
      persistedAcks: true,
      cumulativeMoved: true,
    });
  }, 150_000);
});
