import { BadLedgerMetadataError } from './bookkeeper-errors';
import { bigIntToLong, ledgerMetadataFormatType } from './data-formats';
import {
  DIGEST_TYPE_CODES,
  INVALID_ENTRY_ID,
  LEDGER_STATE_CODES,
  validateLedgerMetadata,
  type DigestType,
  type LedgerMetadata,
  type LedgerSegment,
  type LedgerState,
} from './ledger-metadata';
import {
  lastTextField,
  parseTextFormat,
  textBytes,
  textInteger,
  TextFormatError,
  type TextField,
} from './text-format';

/**
 * BookKeeper's serialized ledger metadata (meta/LedgerMetadataSerDe.java). Every version starts with the header
 * `BookieMetadataFormatVersion\t<n>\n`; what follows depends on n:
 *
 *   v3 (written here):  varint32 size, then `size` bytes of LedgerMetadataFormat (protobuf's writeDelimitedTo)
 *   v2 (read only):     LedgerMetadataFormat in protobuf text format
 *   v1 (read only):     lines: writeQuorumSize, ensembleSize, length, then `firstEntryId\tbookie\t...` per
 *                       ensemble, and `lastEntryId\tCLOSED` (-102 meaning in recovery) when not open
 *
 * As in BookKeeper, v3 always writes lastEntryId, length, digestType, password (empty when none),
 * ackQuorumSize and cToken (0 unless set); ctime only when present. Readers take lastEntryId and length only
 * from CLOSED ledgers, and ackQuorumSize = quorumSize when absent.
 */

export const METADATA_FORMAT_VERSION = 3;
const HEADER_KEY = Buffer.from('BookieMetadataFormatVersion\t', 'ascii');
const HEADER_V3 = Buffer.from('BookieMetadataFormatVersion\t3\n', 'ascii');
const VERSION_DIGITS_MAX = 10;
const V1_CLOSED_TAG = 'CLOSED';
const V1_IN_RECOVERY_ENTRY_ID = -102n;
const INT32_MAX = 0x7fff_ffffn;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Format v3 bytes of `md`; throws `BadLedgerMetadataError` if `md` breaks an invariant. */
export function serializeLedgerMetadata(md: LedgerMetadata): Buffer {
  validateLedgerMetadata(md);
  const type = ledgerMetadataFormatType();
  const message: Record<string, unknown> = {
    quorumSize: md.writeQuorumSize,
    ensembleSize: md.ensembleSize,
    length: bigIntToLong(md.length),
    lastEntryId: bigIntToLong(md.lastEntryId),
    state: LEDGER_STATE_CODES[md.state],
    segment: md.ensembles.map((s) => ({
      ensembleMember: s.ensemble,
      firstEntryId: bigIntToLong(s.firstEntryId),
    })),
    digestType: DIGEST_TYPE_CODES[md.digestType],
    password: md.password,
    ackQuorumSize: md.ackQuorumSize,
    customMetadata: [...md.customMetadata].map(([key, value]) => ({ key, value })),
    cToken: bigIntToLong(md.cToken ?? 0n),
  };
  if (md.ctime !== undefined) message.ctime = bigIntToLong(md.ctime);
  const body = type.encode(message).finish();
  return Buffer.concat([HEADER_V3, encodeVarint32(body.length), body]);
}

/**
 * Parses any of formats v1-v3. Anything else (a bad header, an unknown version, truncated or malformed
 * content, broken invariants) throws `BadLedgerMetadataError`, never another error.
 */
export function parseLedgerMetadata(bytes: Buffer): LedgerMetadata {
  const { version, offset } = readHeader(bytes);
  const rest = bytes.subarray(offset);
  let md: LedgerMetadata;
  try {
    if (version === 3) md = fromFormat(decodeV3(rest));
    else if (version === 2) md = fromFormat(decodeV2(rest));
    else if (version === 1) md = decodeV1(rest);
    else throw new BadLedgerMetadataError(`metadata format version ${version} is not supported (1 to 3 are)`);
  } catch (error) {
    if (error instanceof BadLedgerMetadataError) throw error;
    throw new BadLedgerMetadataError(`malformed format v${version} value: ${describe(error)}`, {
      cause: error,
    });
  }
  validateLedgerMetadata(md);
  return md;
}

/** The format version named in the header of a serialized value. */
export function ledgerMetadataFormatVersion(bytes: Buffer): number {
  return readHeader(bytes).version;
}

function readHeader(bytes: Buffer): { version: number; offset: number } {
  if (!Buffer.isBuffer(bytes)) throw new BadLedgerMetadataError('value is not a Buffer');
  if (bytes.length < HEADER_KEY.length || !bytes.subarray(0, HEADER_KEY.length).equals(HEADER_KEY)) {
    throw new BadLedgerMetadataError('header "BookieMetadataFormatVersion\\t" missing or corrupt');
  }
  const end = bytes.indexOf(0x0a, HEADER_KEY.length);
  const digits = end < 0 ? '' : bytes.toString('latin1', HEADER_KEY.length, end);
  if (end < 0 || digits.length === 0 || digits.length > VERSION_DIGITS_MAX || !/^[0-9]+$/.test(digits)) {
    throw new BadLedgerMetadataError('unable to find the format version number in the header');
  }
  return { version: Number(digits), offset: end + 1 };
}

function encodeVarint32(value: number): Buffer {
  const out: number[] = [];
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** LedgerMetadataFormat with every 64-bit value as a bigint and `undefined` for absent optional fields. */
interface FormatData {
  quorumSize: number;
  ensembleSize: number;
  length: bigint;
  lastEntryId?: bigint;
  state: number;
  segments: LedgerSegment[];
  digestType?: number;
  password?: Buffer;
  ackQuorumSize?: number;
  ctime?: bigint;
  customMetadata: Array<{ key: string; value: Buffer }>;
  cToken?: bigint;
}

function decodeV3(rest: Buffer): FormatData {
  // varint32 size (at most 5 bytes, as protobuf's readRawVarint32), then exactly that many bytes.
  let size = 0;
  let pos = 0;
  for (;;) {
    if (pos >= 5) throw new BadLedgerMetadataError('malformed varint32 size');
    const b = rest[pos];
    if (b === undefined) throw new BadLedgerMetadataError('truncated varint32 size');
    size += (b & 0x7f) * 2 ** (7 * pos);
    pos++;
    if ((b & 0x80) === 0) break;
  }
  if (size > rest.length - pos) {
    throw new BadLedgerMetadataError(`size ${size} exceeds the ${rest.length - pos} bytes that follow`);
  }
  const type = ledgerMetadataFormatType();
  const object = type.toObject(type.decode(rest.subarray(pos, pos + size)), {
    longs: String,
    enums: Number,
    defaults: false,
    arrays: true,
  }) as {
    quorumSize: number;
    ensembleSize: number;
    length: string;
    lastEntryId?: string;
    state: number;
    segment: Array<{ ensembleMember: string[]; firstEntryId: string }>;
    digestType?: number;
    password?: Uint8Array;
    ackQuorumSize?: number;
    ctime?: string;
    customMetadata: Array<{ key?: string; value?: Uint8Array }>;
    cToken?: string;
  };
  const optionalBigInt = (s: string | undefined): bigint | undefined =>
    s === undefined ? undefined : BigInt(s);
  return {
    quorumSize: object.quorumSize,
    ensembleSize: object.ensembleSize,
    length: BigInt(object.length),
    lastEntryId: optionalBigInt(object.lastEntryId),
    state: object.state,
    segments: object.segment.map((s) => ({
      firstEntryId: BigInt(s.firstEntryId),
      ensemble: s.ensembleMember,
    })),
    digestType: object.digestType,
    password: object.password === undefined ? undefined : Buffer.from(object.password),
    ackQuorumSize: object.ackQuorumSize,
    ctime: optionalBigInt(object.ctime),
    customMetadata: object.customMetadata.map((e) => ({
      key: e.key ?? '',
      value: e.value === undefined ? Buffer.alloc(0) : Buffer.from(e.value),
    })),
    cToken: optionalBigInt(object.cToken),
  };
}

const V2_FIELDS = new Set([
  'quorumSize',
  'ensembleSize',
  'length',
  'lastEntryId',
  'state',
  'segment',
  'digestType',
  'password',
  'ackQuorumSize',
  'ctime',
  'customMetadata',
  'cToken',
]);

function decodeV2(rest: Buffer): FormatData {
  const fields = parseTextFormat(rest.toString('utf8'));
  for (const field of fields) {
    if (!V2_FIELDS.has(field.name)) throw new TextFormatError(`unknown field '${field.name}'`, 0);
  }
  const required = (name: string) => {
    const value = lastTextField(fields, name);
    if (value === undefined) throw new TextFormatError(`missing required field '${name}'`, 0);
    return value;
  };
  const int32 = (fs: readonly TextField[], name: string, need: boolean): number | undefined => {
    const value = need ? required(name) : lastTextField(fs, name);
    return value === undefined ? undefined : Number(textInteger(value, name, -INT32_MAX - 1n, INT32_MAX));
  };
  const int64 = (fs: readonly TextField[], name: string): bigint | undefined => {
    const value = lastTextField(fs, name);
    return value === undefined ? undefined : textInteger(value, name, INT64_MIN, INT64_MAX);
  };
  const enumValue = (name: string, codes: Readonly<Record<string, number>>): number | undefined => {
    const value = lastTextField(fields, name);
    if (value === undefined) return undefined;
    if (value.kind === 'identifier' && value.text in codes) return codes[value.text];
    if (value.kind === 'number') return Number(textInteger(value, name, 0n, INT32_MAX));
    throw new TextFormatError(`field '${name}' has an unknown value`, 0);
  };
  const segments: LedgerSegment[] = [];
  for (const field of fields) {
    if (field.name !== 'segment') continue;
    if (field.value.kind !== 'message') throw new TextFormatError("field 'segment' must be a message", 0);
    const inner = field.value.fields;
    const first = lastTextField(inner, 'firstEntryId');
    if (first === undefined) throw new TextFormatError("segment misses 'firstEntryId'", 0);
    segments.push({
      firstEntryId: textInteger(first, 'firstEntryId', INT64_MIN, INT64_MAX),
      ensemble: inner
        .filter((f) => f.name === 'ensembleMember')
        .map((f) => textBytes(f.value, 'ensembleMember').toString('utf8')),
    });
  }
  const customMetadata: Array<{ key: string; value: Buffer }> = [];
  for (const field of fields) {
    if (field.name !== 'customMetadata') continue;
    if (field.value.kind !== 'message')
      throw new TextFormatError("field 'customMetadata' must be a message", 0);
    const key = lastTextField(field.value.fields, 'key');
    const value = lastTextField(field.value.fields, 'value');
    customMetadata.push({
      key: key === undefined ? '' : textBytes(key, 'key').toString('utf8'),
      value: value === undefined ? Buffer.alloc(0) : textBytes(value, 'value'),
    });
  }
  const password = lastTextField(fields, 'password');
  required('length');
  return {
    quorumSize: int32(fields, 'quorumSize', true)!,
    ensembleSize: int32(fields, 'ensembleSize', true)!,
    length: int64(fields, 'length')!,
    lastEntryId: int64(fields, 'lastEntryId'),
    state: enumValue('state', LEDGER_STATE_CODES) ?? LEDGER_STATE_CODES.OPEN,
    segments,
    digestType: enumValue('digestType', DIGEST_TYPE_CODES),
    password: password === undefined ? undefined : textBytes(password, 'password'),
    ackQuorumSize: int32(fields, 'ackQuorumSize', false),
    ctime: int64(fields, 'ctime'),
    customMetadata,
    cToken: int64(fields, 'cToken'),
  };
}

function fromFormat(data: FormatData): LedgerMetadata {
  const state = codeToName(LEDGER_STATE_CODES, data.state, 'state');
  const closed = state === 'CLOSED';
  const md: LedgerMetadata = {
    ensembleSize: data.ensembleSize,
    writeQuorumSize: data.quorumSize,
    ackQuorumSize: data.ackQuorumSize ?? data.quorumSize,
    state,
    lastEntryId: closed ? (data.lastEntryId ?? 0n) : INVALID_ENTRY_ID,
    length: closed ? data.length : 0n,
    ensembles: data.segments,
    // Metadata from before BookKeeper 4.2 has no password; its digest type defaults to the first enum value.
    digestType: codeToName(DIGEST_TYPE_CODES, data.digestType ?? DIGEST_TYPE_CODES.CRC32, 'digestType'),
    password: data.password ?? Buffer.alloc(0),
    customMetadata: new Map(data.customMetadata.map((e) => [e.key, e.value])),
  };
  if (data.ctime !== undefined) md.ctime = data.ctime;
  // A zero creator token is the same as none (BookKeeper writes 0 when unset).
  if (data.cToken !== undefined && data.cToken !== 0n) md.cToken = data.cToken;
  return md;
}

function codeToName<T extends string>(codes: Readonly<Record<T, number>>, code: number, field: string): T {
  for (const [name, value] of Object.entries(codes) as Array<[T, number]>) if (value === code) return name;
  throw new BadLedgerMetadataError(`unknown ${field} value ${code}`);
}

function decodeV1(rest: Buffer): LedgerMetadata {
  const lines = rest.toString('utf8').split('\n');
  const integer = (text: string | undefined, what: string): bigint => {
    if (text === undefined || !/^-?[0-9]{1,19}$/.test(text))
      throw new BadLedgerMetadataError(`v1: bad ${what}`);
    return BigInt(text);
  };
  const writeQuorumSize = Number(integer(lines[0], 'quorum size'));
  const ensembleSize = Number(integer(lines[1], 'ensemble size'));
  const length = integer(lines[2], 'length');
  const ensembles: LedgerSegment[] = [];
  let state: LedgerState = 'OPEN';
  let lastEntryId = INVALID_ENTRY_ID;
  for (const line of lines.slice(3)) {
    if (line.length === 0) continue;
    const parts = line.split('\t');
    if (parts[1] === V1_CLOSED_TAG) {
      const id = integer(parts[0], 'last entry id');
      if (id === V1_IN_RECOVERY_ENTRY_ID) state = 'IN_RECOVERY';
      else [state, lastEntryId] = ['CLOSED', id];
      break;
    }
    ensembles.push({ firstEntryId: integer(parts[0], 'first entry id'), ensemble: parts.slice(1) });
  }
  const digestType: DigestType = 'CRC32';
  return {
    ensembleSize,
    writeQuorumSize,
    ackQuorumSize: writeQuorumSize,
    state,
    lastEntryId,
    length: state === 'CLOSED' ? length : 0n,
    ensembles,
    digestType,
    password: Buffer.alloc(0),
    customMetadata: new Map(),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
