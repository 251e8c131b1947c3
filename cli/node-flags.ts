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
 */
export const LEDGERLINE_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=32'];
