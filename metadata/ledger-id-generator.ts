import { randomInt } from 'node:crypto';
import type { Logger } from '../common';
import { LedgerIdExhaustedError } from './bookkeeper-errors';
import { bucketKey, checkScope } from './bookkeeper-keys';
import type { MetadataStore } from './metadata-store';

export const BUCKET_COUNT = 0x80;
export const BUCKET_ID_SHIFT = 56n;
export const ID_IN_BUCKET_MAX = 0x00ff_ffff_ffff_ffffn;

/**
 * BookKeeper's etcd ledger id generator (etcd/Etcd64bitIdGenerator.java). Ids come from 128 buckets,
 * `<scope>/buckets/000` to `127`. Taking an id puts an empty value on a bucket key; the key's version (how many
 * times it was put since its creation: our `Stat.modCount`) is unique per put, so
 *
 *   ledgerId = (bucket << 56) | (modCount & 0x00FF_FFFF_FFFF_FFFF)
 *
 * is unique across every generator of the cluster without any lock, and bucket 127 still keeps ids positive.
 * Each generator starts at a random bucket and goes round-robin, spreading concurrent writers over keys. A bucket
 * that passed 2^56 - 1 puts is skipped for the next one.
 */
export class LedgerIdGenerator {
  private nextBucket: number;
  private readonly logger: Logger;

  constructor(
    private readonly store: MetadataStore,
    private readonly scope: string,
    logger: Logger,
    options: { startBucket?: number } = {},
  ) {
    checkScope(scope);
    this.logger = logger.child({ component: 'ledger-id-generator' });
    this.nextBucket = options.startBucket ?? randomInt(BUCKET_COUNT);
  }

  async generateLedgerId(): Promise<bigint> {
    for (let attempt = 0; attempt < BUCKET_COUNT; attempt++) {
      const bucket = this.takeBucket();
      const stat = await this.store.put(bucketKey(this.scope, bucket), Buffer.alloc(0), {
        expectedVersion: 'any',
      });
      if (stat.modCount > ID_IN_BUCKET_MAX) {
        this.logger.warn({ bucket }, 'ledger id bucket overflowed, moving to the next one');
        continue;
      }
      return (BigInt(bucket) << BUCKET_ID_SHIFT) | (stat.modCount & ID_IN_BUCKET_MAX);
    }
    throw new LedgerIdExhaustedError(this.scope);
  }

  private takeBucket(): number {
    // As in BookKeeper, the generator advances before use: the first id comes from startBucket + 1.
    this.nextBucket = (this.nextBucket + 1) % BUCKET_COUNT;
    return this.nextBucket;
  }
}

/** The bucket a generated ledger id came from. */
export function bucketOfLedgerId(ledgerId: bigint): number {
  return Number(ledgerId >> BUCKET_ID_SHIFT);
}
