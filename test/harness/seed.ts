/**
 * The seed of a randomized test: LEDGERLINE_SEED when set (to replay a run), else a random one. Tests print it in
 * their names and failure messages.
 */
export function testSeed(): number {
  const fromEnv = process.env.LEDGERLINE_SEED;
  return fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

/** A small seeded PRNG (mulberry32): values in [0, 1), the same sequence for the same seed, so a failing
 * randomized run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
