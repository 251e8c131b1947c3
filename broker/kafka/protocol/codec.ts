import { ApiKey } from './api-keys';
import type { ApiDefinition } from './api-keys';
import { APIS } from './apis';
import { KafkaErrorCode } from './error-codes';
import { KafkaProtocolError, UnsupportedApiError } from './errors';
import { KafkaReader, KafkaWriter } from './primitives';
import { readValue, writeValue } from './schema';
import type { InputOf, ValueOf, WireType } from './schema';

/**
 * Requests and responses: header + body for every API of `apis/`, at every version it serves.
 *
 *   request header v1 (every version but flexible ones): api_key INT16, api_version INT16, correlation_id INT32,
 *                                                        client_id nullable STRING
 *   request header v2 (flexible versions):               v1 + tagged fields (client_id stays a classic string)
 *   response header v0: correlation_id INT32;  v1 (flexible responses): + tagged fields.
 *   ApiVersions responses always use header v0 (KIP-511), so a client can read them before it knows our versions.
 *
 * Decoders take a frame as the splitter yields it (the bytes after the size prefix); encoders give the bytes to
 * write, size prefix included.
 */

export type SupportedApiKey = keyof typeof APIS;
type Api<K extends SupportedApiKey> = (typeof APIS)[K];
type AnyApi = ApiDefinition<number, WireType<unknown, unknown>, WireType<unknown, unknown>>;

/** A decoded request body of api K (every field present). */
export type RequestBody<K extends SupportedApiKey> = ValueOf<Api<K>['request']>;
/** What encodeRequest takes for api K. */
export type RequestInput<K extends SupportedApiKey> = InputOf<Api<K>['request']>;
/** What encodeResponse takes for api K (defaulted fields and fields of other versions may be left out). */
export type ResponseBody<K extends SupportedApiKey> = InputOf<Api<K>['response']>;
/** A decoded response body of api K. */
export type ResponseValue<K extends SupportedApiKey> = ValueOf<Api<K>['response']>;

export interface RequestHeader<K extends number = number> {
  apiKey: K;
  apiVersion: number;
  correlationId: number;
  /** null when the client sent a null client_id. */
  clientId: string | null;
}

/** A decoded request, discriminated by `apiKey`. */
export type KafkaRequest = {
  [K in SupportedApiKey]: RequestHeader<K> & { body: RequestBody<K> };
}[SupportedApiKey];

export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** The table ApiVersions advertises: every api key we serve with its version range, by api key. */
export const SUPPORTED_APIS: readonly SupportedApi[] = Object.values(APIS as Record<number, AnyApi>)
  .map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }))
  .sort((a, b) => a.apiKey - b.apiKey);

function apiOf(apiKey: number): AnyApi | undefined {
  return Object.hasOwn(APIS, apiKey) ? (APIS as Record<number, AnyApi>)[apiKey] : undefined;
}

/** Whether we serve this api key at this version. */
export function isSupported(apiKey: number, apiVersion: number): boolean {
  const api = apiOf(apiKey);
  return api !== undefined && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
}

/** The name of an api key (`Metadata`), or `api key <n>` for one we do not serve. */
export function apiName(apiKey: number): string {
  return apiOf(apiKey)?.name ?? `api key ${apiKey}`;
}

function isFlexible(api: AnyApi, apiVersion: number): boolean {
  return apiVersion >= api.flexibleVersions.min && apiVersion <= api.flexibleVersions.max;
}

/** The api of a header, or an UnsupportedApiError for a key or version we do not serve. */
function servedApi(apiKey: number, apiVersion: number, correlationId: number): AnyApi {
  const api = apiOf(apiKey);
  if (api === undefined) {
    throw new UnsupportedApiError(apiKey, apiVersion, correlationId, `unsupported Kafka api key ${apiKey}`);
  }
  if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
    const range =
      api.minVersion === api.maxVersion ? `${api.minVersion}` : `${api.minVersion}-${api.maxVersion}`;
    throw new UnsupportedApiError(
      apiKey,
      apiVersion,
      correlationId,
      `unsupported Kafka ${api.name} version ${apiVersion} (served: ${range})`,
    );
  }
  return api;
}

/** Adds which message was being read to a decoding error. */
function inMessage(err: unknown, what: string): unknown {
  if (err instanceof KafkaProtocolError && err.code === 'MalformedFrame') {
    return new KafkaProtocolError('MalformedFrame', `${err.message} in ${what}`, { cause: err });
  }
  return err;
}

/**
 * Decodes one request frame (without its size prefix). Throws UnsupportedApiError for an api key or version we do
 * not serve (before reading the rest), KafkaProtocolError `MalformedFrame` for anything that does not parse,
 * including bytes left over after the body. Bytes fields and records are views of `frame`.
 */
export function decodeRequest(frame: Buffer): KafkaRequest {
  const reader = new KafkaReader(frame);
  let what = 'request header';
  try {
    const apiKey = reader.int16();
    const apiVersion = reader.int16();
    const correlationId = reader.int32();
    const api = servedApi(apiKey, apiVersion, correlationId);
    const flexible = isFlexible(api, apiVersion);
    const clientId = reader.nullableString();
    if (flexible) reader.skipTaggedFields();
    what = `${api.name} v${apiVersion} request`;
    const body = readValue(reader, api.request, apiVersion, flexible, '');
    if (reader.remaining !== 0) throw reader.fail(`${reader.remaining} bytes after the body`);
    return { apiKey, apiVersion, correlationId, clientId, body } as KafkaRequest;
  } catch (err) {
    throw inMessage(err, what);
  }
}

/** Encodes a request, size prefix included (the client side: tests, tools). */
export function encodeRequest<K extends SupportedApiKey>(
  header: RequestHeader<K>,
  body: RequestInput<K>,
): Buffer {
  const api = servedApi(header.apiKey, header.apiVersion, header.correlationId);
  const flexible = isFlexible(api, header.apiVersion);
  const writer = new KafkaWriter();
  writer.int16(header.apiKey);
  writer.int16(header.apiVersion);
  writer.int32(header.correlationId);
  writer.nullableString(header.clientId, false);
  if (flexible) writer.emptyTaggedFields();
  writeValue(
    writer,
    api.request,
    body,
    header.apiVersion,
    flexible,
    `${api.name} v${header.apiVersion} request`,
  );
  return writer.finish();
}

/** Whether the response header of this api and version carries a tagged section (v1): never for ApiVersions. */
function responseHeaderFlexible(api: AnyApi, apiVersion: number): boolean {
  return api.apiKey !== ApiKey.ApiVersions && isFlexible(api, apiVersion);
}

/**
 * Encodes a response, size prefix included. The body is written at `apiVersion` (fields of other versions in it
 * are ignored; fields left out take their defaults). Throws KafkaProtocolError `InvalidValue` for a value its wire
 * type cannot hold, UnsupportedApiError for a version we do not serve.
 */
export function encodeResponse<K extends SupportedApiKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseBody<K>,
): Buffer {
  return responseWriter(apiKey, apiVersion, correlationId, body).finish();
}

/**
 * encodeResponse as the chunks to write in order (their concatenation is its frame): byte strings of 1 KiB or more
 * (record batches) are chunks of their own, not copied, which is what a Fetch response wants (socket.cork(), write
 * each, socket.uncork()).
 */
export function encodeResponseChunks<K extends SupportedApiKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseBody<K>,
): Buffer[] {
  return responseWriter(apiKey, apiVersion, correlationId, body).finishChunks();
}

function responseWriter(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
): KafkaWriter {
  const api = servedApi(apiKey, apiVersion, correlationId);
  const flexible = isFlexible(api, apiVersion);
  const writer = new KafkaWriter();
  writer.int32(correlationId);
  if (responseHeaderFlexible(api, apiVersion)) writer.emptyTaggedFields();
  writeValue(writer, api.response, body, apiVersion, flexible, `${api.name} v${apiVersion} response`);
  return writer;
}

/** Decodes a response frame (without its size prefix) to a request of `apiKey` at `apiVersion` (the client side). */
export function decodeResponse<K extends SupportedApiKey>(
  apiKey: K,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: ResponseValue<K> } {
  const reader = new KafkaReader(frame);
  const what = `${apiName(apiKey)} v${apiVersion} response`;
  try {
    const correlationId = reader.int32();
    const api = servedApi(apiKey, apiVersion, correlationId);
    const flexible = isFlexible(api, apiVersion);
    if (responseHeaderFlexible(api, apiVersion)) reader.skipTaggedFields();
    const body = readValue(reader, api.response, apiVersion, flexible, '') as ResponseValue<K>;
    if (reader.remaining !== 0) throw reader.fail(`${reader.remaining} bytes after the body`);
    return { correlationId, body };
  } catch (err) {
    throw inMessage(err, what);
  }
}

/** The ApiVersions body listing everything we serve. */
export function apiVersionsBody(
  errorCode: number = KafkaErrorCode.NONE,
): ResponseBody<typeof ApiKey.ApiVersions> {
  return { errorCode, apiKeys: SUPPORTED_APIS.map((api) => ({ ...api })), throttleTimeMs: 0 };
}

/**
 * The answer to an ApiVersions request of a version above ours: a v0-format body (error UNSUPPORTED_VERSION and
 * the full table) under response header v0, as Kafka sends, so the client can retry with a version we serve.
 */
export function encodeApiVersionsUnsupported(correlationId: number): Buffer {
  return encodeResponse(
    ApiKey.ApiVersions,
    0,
    correlationId,
    apiVersionsBody(KafkaErrorCode.UNSUPPORTED_VERSION),
  );
}
