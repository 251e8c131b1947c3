/**
 * Client CPU per append: one real bookie process (BookieCluster), a BookKeeper client in this process appending
 * `--size` byte entries (E=Qw=Qa=1) with `--window` in flight for `--seconds`. Prints appends/s and the client's
 * CPU microseconds per append (process.cpuUsage over the run). Run under `node --cpu-prof` to see where it goes:
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/client-profile.js --seconds 5
 *   node dist/bench/cpuprofile-summary.js /tmp/prof/<file>.cpuprofile --top 30
 *
 * The numbers vary with the machine's load (a slower bookie means smaller batches per tick and more client CPU per append): compare
 * runs made back to back.
 */
import { BookKeeper } from '../ledger-client';
import { BookieCluster } from '../test/harness';
import { argValue, round } from './measure';

async function main(): Promise<void> {
  const seconds = Number(argValue('seconds', '5'));
  const window = Number(argValue('window', '1000'));
  const size = Number(argValue('size', '1024'));
  const cluster = await BookieCluster.start({ bookies: 1 });
  const bk = await BookKeeper.create({ metadataServiceUri: cluster.metadataServiceUri });
  try {
    const writer = await bk.createLedger({
      ensembleSize: 1,
      writeQuorumSize: 1,
      ackQuorumSize: 1,
      password: 'bench',
    });
    const data = Buffer.alloc(size, 7);
    // Warm-up: connection open, JIT.
    await Promise.all(Array.from({ length: 2000 }, () => writer.append(data)));
    let confirmed = 0;
    let inFlight = 0;
    let stop = false;
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const onConfirmed = (): void => {
        confirmed++;
        inFlight--;
        if (stop) {
          if (inFlight === 0) resolve();
        } else {
          pump();
        }
      };
      const pump = (): void => {
        while (!stop && inFlight < window) {
          inFlight++;
          writer.append(data).then(onConfirmed, reject);
        }
      };
      setTimeout(() => (stop = true), seconds * 1000);
      pump();
    });
    const elapsedS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuUs = cpu.user + cpu.system;
    process.stdout.write(
      `${JSON.stringify({
        appends: confirmed,
        appendsPerSec: round(confirmed / elapsedS, 0),
        clientCpuUsPerAppend: round(cpuUs / confirmed, 2),
        clientUserUsPerAppend: round(cpu.user / confirmed, 2),
        clientCpuShare: round(cpuUs / 1e6 / elapsedS, 2),
      })}\n`,
    );
    await writer.close();
  } finally {
    await bk.close();
    await cluster.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
