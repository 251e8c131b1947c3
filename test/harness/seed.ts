/**
 * The seed of a randomized test: LEDGERLINE_SEED when set (to replay a run), else a random one. Tests print it in
 * their names and failure messages.
 */
export function testSeed(): number {
  const fromEnv = process.env.LEDGERLINE_SEED;
  return fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}
