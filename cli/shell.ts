import type { Command } from 'commander';
import { ConfigError, createRootLogger, loadConfig } from '../common';
import {
  LedgerManager,
  RegistrationClient,
  createMetadataStore,
  getInstanceId,
  initNewCluster,
} from '../metadata';
import type { LedgerMetadata } from '../metadata';
import { CommandError } from './command-error';
import { stdoutOutput } from './output';
import type { Output } from './output';
import { shellConfigSchema } from './shell-config';
import { parseLedgerId, requireCluster } from './shell-context';
import type { ShellAction, ShellContext } from './shell-context';
import { registerLedgerDataCommands } from './shell-ledger';

/** A shell command must answer or fail within this long, whatever the metadata store does. */
const SHELL_DEADLINE_MS = 20000;
/** One metadata request may take this long before it fails (an unreachable etcd fails well within the deadline). */
const METADATA_REQUEST_TIMEOUT_MS = 5000;

interface ShellOptions {
  conf?: string;
  metadataServiceUri?: string;
  json?: boolean;
}

/**
 * `ledgerline shell <command>`: BookKeeper's shell commands that work on metadata. Each command opens the metadata
 * store named by `--metadata-service-uri` (or `metadataServiceUri` in `--conf`, or the environment), does its work
 * and closes the store.
 */
export function registerShellCommands(program: Command): void {
  const shell = program
    .command('shell')
    .description('BookKeeper shell commands on cluster metadata')
    .option('--conf <file>', 'configuration file to read metadataServiceUri from')
    .option('--metadata-service-uri <uri>', 'etcd://host:2379/<scope> or embedded:<dir>')
    .option('--json', 'print JSON for scripts');

  const action: ShellAction =
    (run, deadlineMs = SHELL_DEADLINE_MS) =>
    async (...args) =>
      withShellContext(shell.opts<ShellOptions>(), deadlineMs, (ctx) => run(ctx, ...args));

  shell
    .command('initnewcluster')
    .description('create the cluster metadata (layout, instance id, key tree) if it does not exist')
    .action(
      action(async ({ store, scope, logger, out }) => {
        const result = await initNewCluster(store, scope, { logger });
        if (out.json) out.document({ scope, ...result });
        else if (result.created)
          out.line(`Created new cluster at ${scope}, instance id ${result.instanceId}`);
        else
          out.line(`Cluster already exists at ${scope}, instance id ${result.instanceId}; nothing changed`);
      }),
    );

  shell
    .command('whatisinstanceid')
    .description("print the cluster's instance id")
    .action(
      action(async ({ store, scope, out }) => {
        await requireCluster(store, scope);
        const instanceId = await getInstanceId(store, scope);
        if (out.json) out.document({ scope, instanceId });
        else out.line(`InstanceId: ${instanceId}`);
      }),
    );

  shell
    .command('listbookies')
    .description('list registered bookies (all by default)')
    .option('--readwrite', 'writable bookies (BookKeeper spelling: -rw)')
    .option('--readonly', 'read-only bookies (BookKeeper spelling: -ro)')
    .option('-a, --all', 'writable and read-only bookies')
    .action(
      action(
        async (
          { store, scope, logger, out },
          opts: { readwrite?: boolean; readonly?: boolean; all?: boolean },
        ) => {
          await requireCluster(store, scope);
          const all = opts.all === true || (opts.readwrite !== true && opts.readonly !== true);
          const client = new RegistrationClient(store, scope, logger);
          const writable = all || opts.readwrite === true ? await client.getWritableBookies() : undefined;
          const readOnly = all || opts.readonly === true ? await client.getReadOnlyBookies() : undefined;
          if (out.json) {
            out.document({ ...(writable && { writable }), ...(readOnly && { readOnly }) });
            return;
          }
          const section = (title: string, bookies: string[]): void => {
            out.line(`${title}:`);
            if (bookies.length === 0) out.line('  (none)');
            for (const bookieId of bookies) out.line(`  ${bookieId}`);
          };
          if (writable) section('ReadWrite Bookies', writable);
          if (readOnly) section('ReadOnly Bookies', readOnly);
        },
      ),
    );

  shell
    .command('listledgers')
    .description('list ledger ids')
    .option('-m, --meta', 'print each ledger with its metadata')
    .action(
      action(async ({ store, scope, logger, out }, opts: { meta?: boolean }) => {
        await requireCluster(store, scope);
        const ledgers = new LedgerManager(store, scope, logger);
        const found: unknown[] = [];
        for await (const ledgerId of ledgers.listLedgers()) {
          if (opts.meta === true) {
            // A ledger deleted between the listing and this read is skipped, not an error.
            const versioned = await ledgers.readLedgerMetadata(ledgerId).catch(() => undefined);
            if (versioned === undefined) continue;
            if (out.json) found.push(ledgerMetadataDocument(ledgerId, versioned.metadata));
            else printLedgerMetadata(out, ledgerId, versioned.metadata);
          } else if (out.json) {
            found.push(ledgerId.toString());
          } else {
            out.line(`ledgerID: ${ledgerId}`);
          }
        }
        if (out.json) out.document(found);
      }),
    );

  shell
    .command('ledgermetadata')
    .description("print one ledger's metadata")
    .requiredOption('-l, --ledgerid <id>', 'ledger id')
    .action(
      action(async ({ store, scope, logger, out }, opts: { ledgerid: string }) => {
        const ledgerId = parseLedgerId(opts.ledgerid);
        await requireCluster(store, scope);
        const { metadata } = await new LedgerManager(store, scope, logger).readLedgerMetadata(ledgerId);
        if (out.json) out.document(ledgerMetadataDocument(ledgerId, metadata));
        else printLedgerMetadata(out, ledgerId, metadata);
      }),
    );

  shell
    .command('deleteledger')
    .description("delete a ledger's metadata (bookies drop its entries at their next garbage collection)")
    .requiredOption('-l, --ledgerid <id>', 'ledger id')
    .option('-f, --force', 'delete without asking')
    .action(
      action(async ({ store, scope, logger, out }, opts: { ledgerid: string; force?: boolean }) => {
        const ledgerId = parseLedgerId(opts.ledgerid);
        await requireCluster(store, scope);
        if (opts.force !== true && !(await confirm(`Are you sure to delete ledger ${ledgerId}? (y/N) `))) {
          throw new CommandError(
            `not deleting ledger ${ledgerId}: not confirmed (use -f to delete without asking)`,
          );
        }
        await new LedgerManager(store, scope, logger).removeLedgerMetadata(ledgerId, 'any');
        if (out.json) out.document({ deleted: ledgerId.toString() });
        else out.line(`Deleted ledger ${ledgerId}`);
      }),
    );

  registerLedgerDataCommands(shell, action);
}

/**
 * BookKeeper's shell spells some flags with one dash and several letters (`listbookies -rw`), which commander
 * reads as bundled short flags; they are rewritten to their long names before parsing.
 */
const BOOKKEEPER_FLAG_ALIASES: Readonly<Record<string, string>> = {
  '-rw': '--readwrite',
  '-ro': '--readonly',
  '-fe': '--firstentryid',
  '-le': '--lastentryid',
};

export function rewriteBookKeeperFlags(argv: string[]): string[] {
  return argv.map((arg) => BOOKKEEPER_FLAG_ALIASES[arg] ?? arg);
}

async function withShellContext(
  options: ShellOptions,
  deadlineMs: number,
  run: (ctx: ShellContext) => Promise<void>,
): Promise<void> {
  const config = loadConfig(shellConfigSchema, {
    ...(options.conf !== undefined && { confPath: options.conf }),
    overrides:
      options.metadataServiceUri === undefined ? {} : { metadataServiceUri: options.metadataServiceUri },
    ignoreUnknownKeys: true,
  });
  if (config.metadataServiceUri === '') {
    throw new ConfigError('no metadataServiceUri: pass --metadata-service-uri <uri> or --conf <file>');
  }
  const logger = createRootLogger({ name: 'ledgerline-shell', level: process.env.LOG_LEVEL ?? 'warn' });
  const out = stdoutOutput(options.json === true);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CommandError(`no answer from ${config.metadataServiceUri} within ${deadlineMs} ms`)),
      deadlineMs,
    );
  });
  const work = (async () => {
    const { store, scope } = await createMetadataStore(config.metadataServiceUri, {
      logger,
      requestTimeoutMs: METADATA_REQUEST_TIMEOUT_MS,
    });
    try {
      await run({ metadataServiceUri: config.metadataServiceUri, store, scope, logger, out });
    } finally {
      await store.close();
    }
  })();
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The metadata as printed: everything but the password, which only its length betrays. */
function ledgerMetadataDocument(ledgerId: bigint, md: LedgerMetadata): Record<string, unknown> {
  return {
    ledgerId: ledgerId.toString(),
    state: md.state,
    ensembleSize: md.ensembleSize,
    writeQuorumSize: md.writeQuorumSize,
    ackQuorumSize: md.ackQuorumSize,
    lastEntryId: md.lastEntryId.toString(),
    length: md.length.toString(),
    digestType: md.digestType,
    passwordBytes: md.password.length,
    ...(md.ctime !== undefined && { ctime: new Date(Number(md.ctime)).toISOString() }),
    ensembles: md.ensembles.map((s) => ({ firstEntryId: s.firstEntryId.toString(), ensemble: s.ensemble })),
    customMetadata: Object.fromEntries([...md.customMetadata].map(([k, v]) => [k, printable(v)])),
  };
}

function printLedgerMetadata(out: Output, ledgerId: bigint, md: LedgerMetadata): void {
  out.line(`ledgerID: ${ledgerId}`);
  out.line(`  state: ${md.state}`);
  out.line(
    `  ensembleSize: ${md.ensembleSize}, writeQuorumSize: ${md.writeQuorumSize}, ackQuorumSize: ${md.ackQuorumSize}`,
  );
  out.line(`  lastEntryId: ${md.lastEntryId}, length: ${md.length}`);
  out.line(`  digestType: ${md.digestType}, password: ${md.password.length} bytes (not shown)`);
  if (md.ctime !== undefined) out.line(`  ctime: ${new Date(Number(md.ctime)).toISOString()}`);
  out.line('  ensembles:');
  for (const segment of md.ensembles)
    out.line(`    ${segment.firstEntryId}: [${segment.ensemble.join(', ')}]`);
  if (md.customMetadata.size > 0) {
    out.line('  customMetadata:');
    for (const [key, value] of md.customMetadata) out.line(`    ${key}: ${printable(value)}`);
  }
}

/** Custom metadata values are bytes; show them as text when they are printable UTF-8, else as base64. */
function printable(value: Buffer): string {
  const text = value.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : `base64:${value.toString('base64')}`;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
