import { javaStringHash, murmur3_32 } from '../../../../broker/pulsar';

// Expected values computed with Guava 32.1.3 on OpenJDK 17:
//   Hashing.murmur3_32_fixed().hashBytes(s.getBytes(UTF_8)).asInt() & Integer.MAX_VALUE   (Pulsar's Murmur3_32Hash)
//   s.hashCode()                                                                          (Pulsar's JavaStringHash)
// "abc" (0xB3DD93FA before masking) and "hello" (0x248BFA47) are also MurmurHash3's published x86_32 vectors.
const VECTORS: Array<[string, number, number]> = [
  ['', 0, 0],
  ['a', 1009084850, 97],
  ['ab', 465557343, 3105],
  ['abc', 870159354, 96354],
  ['foo', 1990575136, 101574],
  ['key-1', 414258592, 101943363],
  ['hello', 613153351, 99162322],
  ['The quick brown fox jumps over the lazy dog', 776992547, -609428141],
  ['ünïcødé-κλειδί-🔑', 770489294, -879293781],
];

describe('broker > pulsar > hash', () => {
  it.each(VECTORS)("murmur3_32('%s') = %d, as Pulsar's Murmur3_32Hash", (s, murmur) => {
    expect(murmur3_32(s)).toBe(murmur);
    expect(murmur3_32(Buffer.from(s, 'utf8'))).toBe(murmur);
  });

  it('hashes raw bytes, including ones that are not UTF-8', () => {
    expect(murmur3_32(Uint8Array.from([0xff, 0x00, 0x80, 0x01, 0x02, 0x03, 0x04]))).toBe(1166496920);
  });

  it.each(VECTORS)("javaStringHash('%s') = String.hashCode", (s, _murmur, java) => {
    expect(javaStringHash(s)).toBe(java);
  });
});
