import type { Command } from 'commander';
import { ConfigError } from '../common';
import { BookKeeper } from '../ledger-client';
import type { LedgerEntry, ReadHandle } from '../ledger-client';
import { CommandError } from './command-error';
import type { Output } from './output';
import { parseLedgerId, requireCluster } from './shell-context';
import type { ShellAction, ShellContext } from './shell-context';

/** simpletest and readledger move entries, which takes longer than a metadata lookup. */
const DATA_COMMAND_DEADLINE_MS = 300_000;
/** simpletest keeps this many appends in flight. */
const SIMPLETEST_IN_FLIGHT = 100;
/** readledger reads (and prints) this many entries at a time. */
const READ_BATCH = 1000;

/**
 * The shell commands that go through the ledger client to the bookies: BookKeeper's `simpletest` (create a ledger,
 * append, read back, verify) and `readledger` (print a ledger's entries).
 */
export function registerLedgerDataCommands(shell: Command, action: ShellAction): void {
  shell
    .command('simpletest')
    .description(
      'create a ledger, append entries, read them back and verify them (BookKeeper SimpleTestCommand)',
    )
    .option('-e, --ensemble <n>', 'ensemble size', '3')
    .option('-w, --writeQuorum <n>', 'write quorum size', '2')
    .option('-a, --ackQuorum <n>', 'ack quorum size', '2')
    .option('-n, --numEntries <n>', 'entries to write', '1000')
    .option('-p, --password <text>', 'ledger password', '')
    .action(
      action(async (ctx, opts: SimpleTestOptions) => {
        await requireCluster(ctx.store, ctx.scope);
        await simpleTest(ctx, opts);
      }, DATA_COMMAND_DEADLINE_MS),
    );

  shell
    .command('readledger')
    .description("print a ledger's entries (up to its last add confirmed) without recovering it")
    .requiredOption('-l, --ledgerid <id>', 'ledger id')
    .option('--firstentryid <id>', 'first entry to print (BookKeeper spelling: -fe)', '0')
    .option(
      '--lastentryid <id>',
      'last entry to print, -1 for the last confirmed (BookKeeper spelling: -le)',
      '-1',
    )
    .option('-p, --password <text>', 'ledger password', '')
    .option('--hex', 'print every payload as hex (by default printable UTF-8 is printed as text)')
    .action(
      action(async (ctx, opts: ReadLedgerOptions) => {
        await requireCluster(ctx.store, ctx.scope);
        await readLedger(ctx, opts);
      }, DATA_COMMAND_DEADLINE_MS),
    );
}

interface SimpleTestOptions {
  ensemble: string;
  writeQuorum: string;
  ackQuorum: string;
  numEntries: string;
  password: string;
}

interface ReadLedgerOptions {
  ledgerid: string;
  firstentryid: string;
  lastentryid: string;
  password: string;
  hex?: boolean;
}

function parseCount(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`bad ${flag} "${text}": expected an integer of at least ${min}`);
  }
  return value;
}

function parseEntryId(flag: string, text: string): bigint {
  if (!/^-?\d{1,19}$/.test(text.trim()) || BigInt(text.trim()) < -1n) {
    throw new ConfigError(`bad ${flag} "${text}": expected an entry id (an integer, -1 for none)`);
  }
  return BigInt(text.trim());
}

/** A client on the shell's store (the shell closes the store; the client closes its connections). */
async function withClient<T>(ctx: ShellContext, run: (bk: BookKeeper) => Promise<T>): Promise<T> {
  const bk = await BookKeeper.create({
    metadataServiceUri: ctx.metadataServiceUri,
    store: ctx.store,
    logger: ctx.logger,
  });
  try {
    return await run(bk);
  } finally {
    await bk.close();
  }
}

const simpleTestPayload = (i: number): Buffer => Buffer.from(`ledgerline simpletest entry ${i}`);

async function simpleTest(ctx: ShellContext, opts: SimpleTestOptions): Promise<void> {
  const ensembleSize = parseCount('-e', opts.ensemble, 1);
  const writeQuorumSize = parseCount('-w', opts.writeQuorum, 1);
  const ackQuorumSize = parseCount('-a', opts.ackQuorum, 1);
  const entries = parseCount('-n', opts.numEntries, 1);
  await withClient(ctx, async (bk) => {
    const writer = await bk.createLedger({
      ensembleSize,
      writeQuorumSize,
      ackQuorumSize,
      password: opts.password,
    });
    const writeStarted = performance.now();
    await appendAll(entries, (i) => writer.append(simpleTestPayload(i)));
    const writeMs = performance.now() - writeStarted;
    await writer.close();

    const readStarted = performance.now();
    const reader = await bk.openLedger({
      ledgerId: writer.ledgerId,
      password: opts.password,
      recovery: false,
    });
    let verified = 0;
    try {
      for await (const entry of readRange(reader, 0n, BigInt(entries - 1))) {
        const expected = simpleTestPayload(Number(entry.entryId));
        if (!entry.data.equals(expected)) {
          throw new CommandError(
            `ledger ${writer.ledgerId} entry ${entry.entryId}: read back ${entry.data.length} bytes that differ from what was written`,
          );
        }
        verified++;
      }
    } finally {
      await reader.close();
    }
    const readMs = performance.now() - readStarted;
    if (verified !== entries) {
      throw new CommandError(`ledger ${writer.ledgerId}: wrote ${entries} entries, read back ${verified}`);
    }
    const writeRate = Math.round(entries / (writeMs / 1000));
    const readRate = Math.round(entries / (readMs / 1000));
    if (ctx.out.json) {
      ctx.out.document({
        ledgerId: writer.ledgerId.toString(),
        ensembleSize,
        writeQuorumSize,
        ackQuorumSize,
        entries,
        verified,
        writeMs: Math.round(writeMs),
        writesPerSecond: writeRate,
        readMs: Math.round(readMs),
        readsPerSecond: readRate,
      });
      return;
    }
    ctx.out.line(
      `Ledger ${writer.ledgerId} (E=${ensembleSize} Qw=${writeQuorumSize} Qa=${ackQuorumSize}): wrote ${entries} entries in ${Math.round(writeMs)} ms (${writeRate} entries/s)`,
    );
    ctx.out.line(
      `Read back and verified ${verified} entries in ${Math.round(readMs)} ms (${readRate} entries/s)`,
    );
  });
}

/** Calls `append(i)` for i < count with SIMPLETEST_IN_FLIGHT in flight; rejects with the first failure. */
function appendAll(count: number, append: (i: number) => Promise<bigint>): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = false;
    const issue = (): void => {
      const i = next++;
      append(i).then(
        () => {
          if (failed) return;
          if (++done === count) resolve();
          else if (next < count) issue();
        },
        (error: unknown) => {
          if (!failed) reject(error as Error);
          failed = true;
        },
      );
    };
    while (next < Math.min(count, SIMPLETEST_IN_FLIGHT)) issue();
  });
}

/** Entries first..last in batches of READ_BATCH. */
async function* readRange(handle: ReadHandle, first: bigint, last: bigint): AsyncGenerator<LedgerEntry> {
  for (let from = first; from <= last; from += BigInt(READ_BATCH)) {
    const to = from + BigInt(READ_BATCH - 1) < last ? from + BigInt(READ_BATCH - 1) : last;
    yield* await handle.read(from, to);
  }
}

async function readLedger(ctx: ShellContext, opts: ReadLedgerOptions): Promise<void> {
  const ledgerId = parseLedgerId(opts.ledgerid);
  const first = parseEntryId('-fe', opts.firstentryid);
  const requestedLast = parseEntryId('-le', opts.lastentryid);
  if (first < 0n) throw new ConfigError(`bad -fe "${opts.firstentryid}": expected an entry id of at least 0`);
  await withClient(ctx, async (bk) => {
    const reader = await bk.openLedger({ ledgerId, password: opts.password, recovery: false });
    try {
      const lac = reader.getLastAddConfirmed();
      const last = requestedLast < 0n || requestedLast > lac ? lac : requestedLast;
      const printed: Record<string, unknown>[] = [];
      for await (const entry of readRange(reader, first, last)) {
        const shown = showPayload(entry.data, opts.hex === true);
        if (ctx.out.json) printed.push({ entryId: entry.entryId.toString(), length: entry.length, ...shown });
        else printEntry(ctx.out, entry, shown);
      }
      if (ctx.out.json) {
        ctx.out.document({
          ledgerId: ledgerId.toString(),
          closed: reader.isClosed(),
          lastAddConfirmed: lac.toString(),
          entries: printed,
        });
      } else if (printed.length === 0 && first > last) {
        ctx.out.line(`Ledger ${ledgerId}: no entries from ${first} (last add confirmed: ${lac})`);
      }
    } finally {
      await reader.close();
    }
  });
}

/** Printable UTF-8 as text, anything else (or everything with --hex) as hex. */
function showPayload(data: Buffer, hex: boolean): { text: string } | { hex: string } {
  const text = data.toString('utf8');
  if (!hex && /^[\x20-\x7e\t\n\r]*$/.test(text)) return { text };
  return { hex: data.toString('hex') };
}

function printEntry(out: Output, entry: LedgerEntry, shown: { text: string } | { hex: string }): void {
  const payload = 'text' in shown ? JSON.stringify(shown.text) : `hex:${shown.hex}`;
  out.line(`entry ${entry.entryId}\tlength ${entry.length}\t${payload}`);
}
