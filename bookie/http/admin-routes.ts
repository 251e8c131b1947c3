import { LedgerlineError } from '../../common';
import type { AdminTarget, GcRequest } from './admin-target';

/*
 * The bookie's admin endpoints, with BookKeeper's paths and request/response shapes
 * (bookkeeper-server/.../server/http/service/*Service.java). Where BookKeeper answers a wrong method with 404,
 * we answer 405 with an Allow header (the server does that from this table).
 */

export interface AdminRequest {
  query: URLSearchParams;
  /** The request body as text; empty when none was sent. */
  body: string;
}

export interface AdminResponse {
  status: number;
  body: string;
  contentType: string;
}

export type AdminHandler = (request: AdminRequest, target: AdminTarget) => Promise<AdminResponse>;

/** A request the bookie refuses, with the status and text to answer. */
export class AdminRequestError extends LedgerlineError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('BadAdminRequest', message);
  }
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

function json(value: unknown, status = 200): AdminResponse {
  return { status, body: JSON.stringify(value, null, 2), contentType: JSON_TYPE };
}

function text(body: string, status = 200): AdminResponse {
  return { status, body, contentType: TEXT };
}

/** The body as a JSON object; an empty body is `{}` only when `emptyMeans` is given. */
function jsonObjectBody(
  body: string,
  example: string,
  emptyMeans?: Record<string, unknown>,
): Record<string, unknown> {
  if (body.trim() === '') {
    if (emptyMeans !== undefined) return emptyMeans;
    throw new AdminRequestError(400, `request body is empty; expected JSON like ${example}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new AdminRequestError(
      400,
      `request body is not valid JSON (${(error as Error).message}); expected JSON like ${example}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AdminRequestError(400, `request body must be a JSON object like ${example}`);
  }
  return parsed as Record<string, unknown>;
}

function optionalBoolean(object: Record<string, unknown>, key: string, example: string): boolean | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new AdminRequestError(
      400,
      `"${key}" must be true or false, got ${JSON.stringify(value)}; e.g. ${example}`,
    );
  }
  return value;
}

const READONLY_EXAMPLE = '{"readOnly":true}';
const GC_EXAMPLE = '{"forceMajor":true,"forceMinor":false}';

/** GET: `{"readOnly":bool}`. PUT `{"readOnly":true|false}` (query force=true: forced read-only until restart). */
async function putReadOnly(request: AdminRequest, target: AdminTarget): Promise<AdminResponse> {
  const readOnly = optionalBoolean(
    jsonObjectBody(request.body, READONLY_EXAMPLE),
    'readOnly',
    READONLY_EXAMPLE,
  );
  if (readOnly === undefined) {
    throw new AdminRequestError(400, `"readOnly" is missing; expected JSON like ${READONLY_EXAMPLE}`);
  }
  const { state } = target;
  if (readOnly) {
    if (!state.readOnlyModeEnabled) {
      throw new AdminRequestError(400, 'Bookie is disabled ReadOnly mode, cannot transit to readOnly mode');
    }
    // Recorded even when the bookie is already read-only for another reason, so that it stays read-only
    // when that reason clears (e.g. a disk frees up): the operator asked for read-only.
    await state.transitionToReadOnly('admin');
    if (request.query.get('force') === 'true') await state.forceReadOnly();
  } else {
    if (state.isForcedReadOnly()) {
      throw new AdminRequestError(400, 'Bookie is in forceReadOnly mode, cannot transit to writable mode');
    }
    const others = state.readOnlyReasons().filter((reason) => reason !== 'admin');
    if (others.length > 0) {
      throw new AdminRequestError(
        400,
        `Bookie is read-only because of ${others.join(', ')}, cannot transit to writable mode`,
      );
    }
    await state.transitionToWritable('admin');
  }
  return json({ readOnly: state.isReadOnly() });
}

async function putGc(request: AdminRequest, target: AdminTarget): Promise<AdminResponse> {
  const body = jsonObjectBody(request.body, GC_EXAMPLE, {});
  const gcRequest: GcRequest = {};
  const forceMajor = optionalBoolean(body, 'forceMajor', GC_EXAMPLE);
  const forceMinor = optionalBoolean(body, 'forceMinor', GC_EXAMPLE);
  if (forceMajor !== undefined) gcRequest.forceMajor = forceMajor;
  if (forceMinor !== undefined) gcRequest.forceMinor = forceMinor;
  target.gc.trigger(gcRequest);
  return json(`Triggered GC on BookieServer: ${target.bookieId}`);
}

const FILE_TYPES = { journal: 'journal files', entrylog: 'entrylog files', index: 'index files' } as const;

/** `{"journal files": "a.txn\tb.txn\t", ...}`; query file_type=journal|entrylog|index picks one (else all). */
async function getDiskFiles(request: AdminRequest, target: AdminTarget): Promise<AdminResponse> {
  const files = await target.listDiskFiles();
  const lists = { journal: files.journal, entrylog: files.entryLog, index: files.index };
  const wanted = request.query.get('file_type');
  const output: Record<string, string> = {};
  for (const type of Object.keys(FILE_TYPES) as Array<keyof typeof FILE_TYPES>) {
    if (wanted !== null && wanted in FILE_TYPES && wanted !== type) continue;
    // BookKeeper's format: each name followed by a tab.
    output[FILE_TYPES[type]] = lists[type].map((name) => `${name}\t`).join('');
  }
  return json(output);
}

/** `{"LastLogMark: Journal Id - <id>(<hex id>.txn)": "Pos - <offset>", ...}`, one entry per journal. */
async function getLastLogMark(_request: AdminRequest, target: AdminTarget): Promise<AdminResponse> {
  const output: Record<string, string> = {};
  for (const mark of await target.lastLogMarks()) {
    output[`LastLogMark: Journal Id - ${mark.logFileId}(${mark.logFileId.toString(16)}.txn)`] =
      `Pos - ${mark.offset}`;
  }
  return json(output);
}

/** Path → method → handler. */
export const ADMIN_ROUTES: ReadonlyMap<string, Readonly<Partial<Record<string, AdminHandler>>>> = new Map<
  string,
  Partial<Record<string, AdminHandler>>
>([
  // BookKeeper's HeartbeatService answers exactly "OK\n".
  ['/heartbeat', { GET: async () => text('OK\n') }],
  [
    '/metrics',
    {
      GET: async (_request, target) => ({
        status: 200,
        body: await target.metricsRegistry.metrics(),
        contentType: target.metricsRegistry.contentType,
      }),
    },
  ],
  [
    '/api/v1/bookie/info',
    {
      GET: async (_request, target) => {
        const space = await target.diskSpace();
        return json({ freeSpace: space.freeBytes, totalSpace: space.totalBytes });
      },
    },
  ],
  [
    '/api/v1/bookie/state',
    {
      GET: async (_request, { state }) =>
        json({
          running: state.isRunning(),
          readOnly: state.isReadOnly(),
          shuttingDown: state.isShuttingDown(),
          availableForHighPriorityWrites: state.isAvailableForHighPriorityWrites(),
        }),
    },
  ],
  [
    '/api/v1/bookie/state/readonly',
    { GET: async (_request, { state }) => json({ readOnly: state.isReadOnly() }), PUT: putReadOnly },
  ],
  [
    '/api/v1/bookie/is_ready',
    {
      GET: async (_request, { state }) =>
        state.isRunning() && !state.isShuttingDown()
          ? text('')
          : text('Bookie is not fully started yet', 503),
    },
  ],
  [
    '/api/v1/bookie/gc',
    {
      GET: async (_request, { gc }) => json({ is_in_force_gc: String(gc.isInForceGc()) }),
      PUT: putGc,
    },
  ],
  ['/api/v1/bookie/gc_details', { GET: async (_request, { gc }) => json(gc.status()) }],
  ['/api/v1/bookie/list_disk_file', { GET: getDiskFiles }],
  ['/api/v1/bookie/last_log_mark', { GET: getLastLogMark }],
]);
