import { ApiKey, defineApi } from '../api-keys';
import { INT16, INT32, STRING, array, field, struct } from '../schema';
import type { InputOf, ValueOf } from '../schema';

/**
 * ApiVersions (18), versions 0-3; v3 is the only flexible version we serve.
 *
 *   request  v0-2: (empty)
 *            v3:   client_software_name COMPACT_STRING, client_software_version COMPACT_STRING, _tagged
 *   response v0:   error_code, api_keys[api_key, min_version, max_version]
 *            v1-2: + throttle_time_ms
 *            v3:   the same fields, compact, each struct ending in a tagged section (features are tagged: omitted)
 *
 * The response always goes out with response header v0, even for v3 (KIP-511), and a request for a version above
 * ours is answered with a v0-format body carrying UNSUPPORTED_VERSION and the full table (see codec.ts).
 */
export const API_VERSIONS = defineApi({
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  versions: '0-3',
  flexibleVersions: '3+',
  request: struct({
    clientSoftwareName: field(STRING, { versions: '3+' }),
    clientSoftwareVersion: field(STRING, { versions: '3+' }),
  }),
  response: struct({
    errorCode: field(INT16, { default: 0 }),
    apiKeys: field(
      array(struct({ apiKey: field(INT16), minVersion: field(INT16), maxVersion: field(INT16) })),
    ),
    throttleTimeMs: field(INT32, { versions: '1+', default: 0 }),
  }),
});

export type ApiVersionsRequest = ValueOf<typeof API_VERSIONS.request>;
export type ApiVersionsResponse = InputOf<typeof API_VERSIONS.response>;
