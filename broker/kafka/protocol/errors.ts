import { LedgerlineError } from '../../../common';

/**
 * What went wrong with Kafka wire bytes, or with a value the codec was asked to write:
 * - `MalformedFrame`: a size prefix that is negative or a frame that does not parse (truncated, a length or count
 *   past the end, bytes left over after the body, a null where the version allows none)
 * - `FrameTooLarge`: a size prefix over the configured cap (checked before anything is allocated for it)
 * - `UnsupportedApi`: an api key this broker does not implement, or a version outside its advertised range
 *   (thrown as {@link UnsupportedApiError}, which carries the header fields read so far)
 * - `InvalidValue`: a value handed to an encoder that its wire type cannot hold (a bug in the caller)
 * Never retriable: the same bytes fail the same way.
 */
export type KafkaProtocolErrorCode = 'MalformedFrame' | 'FrameTooLarge' | 'UnsupportedApi' | 'InvalidValue';

export class KafkaProtocolError extends LedgerlineError {
  declare readonly code: KafkaProtocolErrorCode;

  constructor(code: KafkaProtocolErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * A request for an api key or version the broker does not serve. The server closes the connection for it, except
 * for ApiVersions, which it answers with UNSUPPORTED_VERSION (35) and the full table; the header fields read
 * before the check are here so it can (a frame too short to hold them is a `MalformedFrame` instead).
 */
export class UnsupportedApiError extends KafkaProtocolError {
  constructor(
    readonly apiKey: number,
    readonly apiVersion: number,
    readonly correlationId: number,
    message: string,
  ) {
    super('UnsupportedApi', message);
  }
}
