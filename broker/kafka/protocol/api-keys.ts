import { versionRange } from './schema';
import type { VersionRange, WireType } from './schema';

/** Kafka's api keys (the int16 at the start of every request header), named as in Kafka's ApiKeys. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
} as const;

/** One API as data: its key, the versions we serve, which of them are flexible, and its two message schemas. */
export interface ApiDefinition<
  K extends number,
  Req extends WireType<unknown, unknown>,
  Res extends WireType<unknown, unknown>,
> {
  readonly apiKey: K;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleVersions: VersionRange;
  readonly request: Req;
  readonly response: Res;
}

export function defineApi<
  K extends number,
  Req extends WireType<unknown, unknown>,
  Res extends WireType<unknown, unknown>,
>(api: {
  apiKey: K;
  name: string;
  /** The versions served and advertised, e.g. `'0-4'`. */
  versions: string;
  /** The versions that use compact types, tagged fields and header v2 / v1 (`'3+'`); none when left out. */
  flexibleVersions?: string;
  request: Req;
  response: Res;
}): ApiDefinition<K, Req, Res> {
  const { min, max } = versionRange(api.versions);
  return {
    apiKey: api.apiKey,
    name: api.name,
    minVersion: min,
    maxVersion: max,
    flexibleVersions:
      api.flexibleVersions === undefined ? { min: 1, max: 0 } : versionRange(api.flexibleVersions),
    request: api.request,
    response: api.response,
  };
}
