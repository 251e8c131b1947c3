/**
 * The two hashes Pulsar routes and dispatches keys with:
 * - murmur3_32: Pulsar's Murmur3_32Hash.makeHash (MurmurHash3 x86_32, seed 0, masked to 31 bits), used by
 *   Key_Shared (hash of the ordering key, else the partition key, mod 65536) and by the Murmur3 partition router;
 * - javaStringHash: Java's String.hashCode, the default key router of the Java client (JavaStringHash, made
 *   non-negative by the caller as Pulsar's signSafeMod does).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const encoder = new TextEncoder();

/** MurmurHash3 x86_32 with seed 0, `& 0x7fffffff`; a string is hashed as its UTF-8 bytes, as Pulsar does. */
export function murmur3_32(input: Uint8Array | string): number {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  const length = bytes.length;
  const blocksEnd = length - (length % 4);
  let h1 = 0;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k1 =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k1 = bytes[blocksEnd] as number;
    if (tail > 1) k1 |= (bytes[blocksEnd + 1] as number) << 8;
    if (tail > 2) k1 |= (bytes[blocksEnd + 2] as number) << 16;
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
  }
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 & 0x7fffffff;
}

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, as a signed 32-bit int. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
