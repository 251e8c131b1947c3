import { javaStringHash, murmur3_32 } from '../pulsar';

/** The routing modes a WebSocket producer may ask for (`messageRoutingMode`); CustomPartition needs client code. */
export type MessageRoutingMode = 'RoundRobinPartition' | 'SinglePartition';
/** How a key is hashed to a partition (`hashingScheme`), as in Pulsar's Java client. */
export type HashingScheme = 'JavaStringHash' | 'Murmur3_32Hash';

/** Pulsar's MathUtils.signSafeMod. */
function signSafeMod(dividend: number, divisor: number): number {
  const mod = dividend % divisor;
  return mod < 0 ? mod + divisor : mod;
}

/** Pulsar's Hash.makeHash: both schemes give a non-negative int. */
export function keyHash(key: string, scheme: HashingScheme): number {
  return scheme === 'Murmur3_32Hash' ? murmur3_32(key) : javaStringHash(key) & 0x7fff_ffff;
}

/**
 * The partition of each message of a producer on a partitioned topic, as the Java client's routers that Pulsar's
 * WebSocket proxy uses (RoundRobinPartitionMessageRouterImpl, SinglePartitionMessageRouterImpl): a message with a
 * key goes to hash(key) mod N; one without goes round robin from a random start, one message at a time (each
 * WebSocket message is its own entry: no batches to keep together), or, in SinglePartition mode, always to one
 * partition chosen at random.
 */
export class PartitionRouter {
  private next: number;

  constructor(
    private readonly partitions: number,
    private readonly mode: MessageRoutingMode = 'RoundRobinPartition',
    private readonly scheme: HashingScheme = 'JavaStringHash',
    random: () => number = Math.random,
  ) {
    if (!Number.isSafeInteger(partitions) || partitions < 1)
      throw new Error(`bad partition count ${partitions}`);
    this.next = Math.floor(random() * partitions);
  }

  choose(key: string | undefined): number {
    if (key !== undefined) return signSafeMod(keyHash(key, this.scheme), this.partitions);
    if (this.mode === 'SinglePartition') return this.next;
    const chosen = this.next;
    this.next = (this.next + 1) % this.partitions;
    return chosen;
  }
}
