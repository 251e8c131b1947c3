import { z } from 'zod';
import { HttpError, parseJsonBody } from '../http';
import { BACKLOG_QUOTA_POLICIES, DESTINATION_STORAGE, MESSAGE_AGE } from '../service';
import type { BacklogQuota, BacklogQuotaPolicy, BacklogQuotaType, Policies } from '../service';

/*
 * The admin API's request bodies and path parameters, checked before anything reaches the broker: a bad one is
 * 400 (or 412 for a bad name, as Pulsar answers) with a reason that says what was expected.
 */

/** Pulsar's NamedEntity.checkName: tenant, namespace and cluster names. */
const NAME_PATTERN = /^[-=:.\w]+$/;

export function checkedName(kind: 'tenant' | 'namespace', value: string | undefined): string {
  if (value === undefined || !NAME_PATTERN.test(value)) {
    throw new HttpError(412, `Invalid ${kind} name: ${String(value)}`);
  }
  return value;
}

/** A positive or zero integer path parameter (`skip/{n}`, `position/{n}`, `resetcursor/{timestamp}`). */
export function checkedCount(what: string, value: string | undefined, min = 0): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new HttpError(400, `${what} must be an integer >= ${min}, got ${String(value)}`);
  }
  return n;
}

/**
 * The body of PUT/POST `.../partitions`: a bare JSON integer, as pulsar-admin sends it. Not an integer is 400; a
 * count under 1 reaches the broker, which answers 406 as Pulsar does.
 */
export function partitionCountOf(body: Buffer): number {
  return checked('number of partitions', z.number().int(), parseJsonBody(body));
}

const tenantInfoSchema = z
  .object({
    adminRoles: z.array(z.string()).default([]),
    allowedClusters: z.array(z.string()).default([]),
  })
  .loose();

export interface TenantInfoInput {
  adminRoles: string[];
  allowedClusters: string[];
}

export function tenantInfoOf(body: Buffer): TenantInfoInput {
  return checked('tenant info', tenantInfoSchema, parseJsonBody(body) ?? {});
}

const retentionSchema = z.object({
  retentionTimeInMinutes: z.number().int().min(-1),
  retentionSizeInMB: z.number().int().min(-1),
});

export interface RetentionInput {
  retentionTimeInMinutes: number;
  retentionSizeInMB: number;
}

export function retentionOf(body: Buffer): RetentionInput {
  return checked('retention policies', retentionSchema, parseJsonBody(body));
}

/** `POST .../deduplication` takes a bare JSON boolean, as pulsar-admin sends it. */
export function booleanOf(what: string, body: Buffer): boolean {
  return checked(what, z.boolean(), parseJsonBody(body));
}

const backlogQuotaSchema = z
  .object({
    /** Pulsar's deprecated `limit` (bytes), read when `limitSize` is absent, as BacklogQuotaImpl does. */
    limit: z.number().int().min(-1).optional(),
    limitSize: z.number().int().min(-1).optional(),
    limitTime: z.number().int().min(-1).default(-1),
    policy: z.enum(BACKLOG_QUOTA_POLICIES as [BacklogQuotaPolicy, ...BacklogQuotaPolicy[]]),
  })
  .loose();

/** Pulsar's BacklogQuota JSON: `{limitSize, limitTime, policy}` (`limit` is the old name of limitSize). */
export function backlogQuotaOf(body: Buffer): BacklogQuota {
  const quota = checked('backlog quota', backlogQuotaSchema, parseJsonBody(body));
  return {
    limitSize: quota.limitSize ?? quota.limit ?? -1,
    limitTime: quota.limitTime,
    policy: quota.policy,
  };
}

const policiesSchema = z
  .object({
    retention_policies: retentionSchema.optional(),
    deduplicationEnabled: z.boolean().optional(),
    backlog_quota_map: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/**
 * The optional Policies body of `PUT /admin/v2/namespaces/{tenant}/{namespace}`: the policies a new namespace
 * starts with. Retention, deduplication and the backlog quotas are taken (checked as their own endpoints check
 * them); other fields are left to the broker's defaults. No body: no policies.
 */
export function policiesOf(body: Buffer): Policies {
  const parsed = parseJsonBody(body);
  if (parsed === undefined) return {};
  const input = checked('namespace policies', policiesSchema, parsed);
  const policies: Policies = {};
  if (input.retention_policies !== undefined) policies.retention_policies = input.retention_policies;
  if (input.deduplicationEnabled !== undefined) policies.deduplicationEnabled = input.deduplicationEnabled;
  for (const [name, quota] of Object.entries(input.backlog_quota_map ?? {})) {
    const type = checkedBacklogQuotaType(name);
    policies.backlog_quota_map ??= {};
    policies.backlog_quota_map[type] = backlogQuotaOf(Buffer.from(JSON.stringify(quota)));
  }
  return policies;
}

/**
 * `?backlogQuotaType=`: Pulsar's BacklogQuotaType, destination_storage (size, limitSize) when absent, or
 * message_age (the age of the oldest unacknowledged message, limitTime).
 */
export function checkedBacklogQuotaType(value: string | null): BacklogQuotaType {
  if (value === null || value === DESTINATION_STORAGE) return DESTINATION_STORAGE;
  if (value === MESSAGE_AGE) return MESSAGE_AGE;
  throw new HttpError(400, `Invalid backlogQuotaType ${value}: destination_storage or message_age`);
}

const longSchema = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform((v) => BigInt(v));

const messageIdSchema = z
  .object({
    ledgerId: longSchema,
    entryId: longSchema,
    partitionIndex: z.number().int().default(-1),
    batchIndex: z.number().int().default(-1),
    isExcluded: z.boolean().default(false),
  })
  .loose();

/** Pulsar's ResetCursorData / MessageIdImpl JSON: `{ledgerId, entryId, partitionIndex, batchIndex, isExcluded}`. */
export interface MessageIdInput {
  ledgerId: bigint;
  entryId: bigint;
  partitionIndex: number;
  batchIndex: number;
  isExcluded: boolean;
}

export function messageIdOf(body: Buffer): MessageIdInput | undefined {
  const json = parseJsonBody(body);
  if (json === undefined) return undefined;
  return checked('message id', messageIdSchema, json);
}

function checked<T>(what: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new HttpError(400, `bad ${what}${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
