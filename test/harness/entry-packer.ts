import { DigestManager, DigestType } from '../../protocol';

/** Packs entries (and LAC blobs) as a CRC32C ledger client would, with one DigestManager per ledger. */
export class EntryPacker {
  private readonly digests = new Map<bigint, DigestManager>();

  constructor(private readonly password: Buffer) {}

  digest(ledgerId: bigint): DigestManager {
    let digest = this.digests.get(ledgerId);
    if (digest === undefined) {
      digest = DigestManager.create(ledgerId, this.password, DigestType.CRC32C);
      this.digests.set(ledgerId, digest);
    }
    return digest;
  }

  /** The packed entry with LAC entryId - 1 and length 0 unless given. */
  pack(ledgerId: bigint, entryId: bigint, payload: Buffer, lac = entryId - 1n, length = 0n): Buffer {
    return this.digest(ledgerId).packEntry(entryId, lac, length, payload);
  }
}
