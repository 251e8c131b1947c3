import { LedgerlineError } from '../../common';

/**
 * What went wrong with bytes or a name in one of Pulsar's formats:
 * - `MalformedMessageId`: not a MessageIdData (bad base64, junk protobuf, missing ledgerId/entryId)
 * - `MalformedEntry`: a stored entry or client message that does not parse (short, wrong magic, a size past the end,
 *   junk protobuf, a batch whose sizes do not add up)
 * - `ChecksumError`: the CRC32C over metadata and payload does not match (Pulsar's ServerError name)
 * - `InvalidTopicName`: a topic name Pulsar would refuse (Pulsar's ServerError name)
 * - `UnsupportedCompression`: a batch compressed with a codec ledgerline cannot decompress
 * Never retriable: the same bytes fail the same way.
 */
export type PulsarFormatErrorCode =
  'MalformedMessageId' | 'MalformedEntry' | 'ChecksumError' | 'InvalidTopicName' | 'UnsupportedCompression';

export class PulsarFormatError extends LedgerlineError {
  declare readonly code: PulsarFormatErrorCode;

  constructor(code: PulsarFormatErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
