/**
 * The V8 flags the `ledgerline` command runs with: `bin/ledgerline.js`'s shebang and `npm start` (package.json)
 * spell them out, a unit test keeps the three in step, and benchmarks start their servers with them, so what they
 * measure runs as deployed.
 *
 * - `--single-threaded-gc`: the collector on the main thread only. On two cores V8's concurrent GC threads took a
 *   core's worth of CPU from the broker and bookies under large Kafka batches (bench/kafka-clients: 72k -> 106k
 *   msgs/s produced).
 * - `--max-semi-space-size=32` (MB; V8's default tops out at 16): a standalone taking bench/ws-produce's
 *   ~30,000 msgs/s otherwise scavenged about twice as often (823-829 scavenges per bench run against 461), so
 *   messages that were merely in flight got promoted, and it ran 21-28 mark-compacts per run against 6, each
 *   25-40 ms of main thread with the collector single-threaded. Three runs alternated: 36.4k -> 39.9k msgs/s
 *   and the p99 at 80% of that rate 59.0 -> 45.8 ms (medians).
 * - `--initial-old-space-size=128` (MB): the old generation may grow to 128 MB before V8 marks it. By default V8
 *   sets that limit from the live heap (about 20 MB in a bookie), and a bookie taking 64,000 adds/s ran a
 *   mark-compact about once a second (0.25-3 s apart), most of them during a write-cache flush, each 2-23 ms of
 *   its main thread. With the flag it ran 2 in a run of 30 s. bench/client-write `--only 1 --rate 64000` (client run with the same flag),
 *   alternated with and without it on the bookie: p99 9.1 / 10.9 / 7.6 / 34.6 / 6.7 / 23.0 ms against
 *   14.0 / 11.6 / 10.5 / 44.8 / 7.4 / 23.1 (each the median of 5 runs; lower in every pair).
 */
export const LEDGERLINE_NODE_FLAGS: readonly string[] = [
  '--single-threaded-gc',
  '--max-semi-space-size=32',
  '--initial-old-space-size=128',
];
