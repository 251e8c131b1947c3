/**
 * A position in a managed ledger: (ledgerId, entryId), ordered by ledger then entry, as Pulsar's Position.
 * `(L, -1)` means "before the first entry of ledger L". Positions are immutable values; compare them with
 * `compareTo`/`equals`, never with `===`.
 */
export class Position {
  readonly ledgerId: bigint;
  readonly entryId: bigint;

  constructor(ledgerId: bigint, entryId: bigint) {
    this.ledgerId = ledgerId;
    this.entryId = entryId;
  }

  static of(ledgerId: bigint | number, entryId: bigint | number): Position {
    return new Position(BigInt(ledgerId), BigInt(entryId));
  }

  /** Parses `L:E` (what `toString` prints); throws a RangeError naming the text otherwise. */
  static parse(text: string): Position {
    const match = /^(-?\d+):(-?\d+)$/.exec(text.trim());
    if (match === null) throw new RangeError(`not a position "${text}": expected ledgerId:entryId`);
    return new Position(BigInt(match[1]!), BigInt(match[2]!));
  }

  compareTo(other: Position): number {
    if (this.ledgerId !== other.ledgerId) return this.ledgerId < other.ledgerId ? -1 : 1;
    if (this.entryId !== other.entryId) return this.entryId < other.entryId ? -1 : 1;
    return 0;
  }

  equals(other: Position): boolean {
    return this.ledgerId === other.ledgerId && this.entryId === other.entryId;
  }

  isBefore(other: Position): boolean {
    return this.compareTo(other) < 0;
  }

  isAfter(other: Position): boolean {
    return this.compareTo(other) > 0;
  }

  /** The next position in the same ledger (whether it exists is the managed ledger's business). */
  next(): Position {
    return new Position(this.ledgerId, this.entryId + 1n);
  }

  toString(): string {
    return `${this.ledgerId}:${this.entryId}`;
  }

  static min(a: Position, b: Position): Position {
    return a.compareTo(b) <= 0 ? a : b;
  }

  static max(a: Position, b: Position): Position {
    return a.compareTo(b) >= 0 ? a : b;
  }
}

/** Sorts before every real position (Pulsar's PositionFactory.EARLIEST). */
export const EARLIEST = new Position(-1n, -1n);
/** Sorts after every real position (Pulsar's PositionFactory.LATEST). */
export const LATEST = new Position(BigInt.asIntN(64, (1n << 63n) - 1n), BigInt.asIntN(64, (1n << 63n) - 1n));
