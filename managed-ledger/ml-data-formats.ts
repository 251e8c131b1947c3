import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { ManagedLedgerError } from './errors';
import { Position } from './position';

/**
 * Pulsar's MLDataFormats (proto/MLDataFormats.proto) as typed values: the managed ledger's metadata
 * (ManagedLedgerInfo), a cursor's metadata (ManagedCursorInfo) and a cursor-ledger entry (PositionInfo).
 * Ledger and entry ids are bigints, counts, sizes and times numbers (ms since the epoch for times).
 * Decoding bad bytes throws a ManagedLedgerError('MetaStoreException') naming what was being read.
 */

export interface LedgerInfo {
  ledgerId: bigint;
  entries: number;
  size: number;
  /** When the ledger was closed (ms); 0 while it is open for writes. */
  timestamp: number;
}

export interface ManagedLedgerInfo {
  ledgers: LedgerInfo[];
  terminatedPosition?: Position;
  properties: Map<string, string>;
}

/** An out-of-order acknowledged range `(lower, upper]` (open below, closed above), as Pulsar keeps them. */
export interface MessageRange {
  lower: Position;
  upper: Position;
}

export interface PositionInfo {
  position: Position;
  individualDeletedMessages: MessageRange[];
  properties: Map<string, bigint>;
}

export interface ManagedCursorInfo {
  /** The cursor's ledger; -1n when the position is stored here instead. */
  cursorsLedgerId: bigint;
  markDelete?: Position;
  individualDeletedMessages: MessageRange[];
  properties: Map<string, bigint>;
  lastActive?: number;
  cursorProperties: Map<string, string>;
}

let root: protobuf.Root | undefined;

function type(name: string): protobuf.Type {
  root ??= protobuf.loadSync(join(__dirname, 'proto', 'MLDataFormats.proto'));
  return root.lookupType(name);
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, defaults: false, arrays: true };

type Long = string | number;
interface NestedObject {
  ledgerId: Long;
  entryId: Long;
}
interface RangeObject {
  lowerEndpoint: NestedObject;
  upperEndpoint: NestedObject;
}
interface NamedObject {
  name: string;
  value: Long;
}

const nested = (p: Position): NestedObject => ({
  ledgerId: p.ledgerId.toString(),
  entryId: p.entryId.toString(),
});
const position = (o: NestedObject): Position => new Position(BigInt(o.ledgerId), BigInt(o.entryId));
const rangesOut = (ranges: MessageRange[]): RangeObject[] =>
  ranges.map((r) => ({ lowerEndpoint: nested(r.lower), upperEndpoint: nested(r.upper) }));
const rangesIn = (ranges: RangeObject[] | undefined): MessageRange[] =>
  (ranges ?? []).map((r) => ({ lower: position(r.lowerEndpoint), upper: position(r.upperEndpoint) }));
const longPropsOut = (props: Map<string, bigint>): NamedObject[] =>
  [...props].map(([name, value]) => ({ name, value: value.toString() }));
const longPropsIn = (props: NamedObject[] | undefined): Map<string, bigint> =>
  new Map((props ?? []).map((p) => [p.name, BigInt(p.value)]));

function encode(name: string, object: object): Buffer {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(object)).finish());
}

function decode<T>(name: string, bytes: Uint8Array, what: string): T {
  const t = type(name);
  try {
    return t.toObject(t.decode(bytes), TO_OBJECT) as T;
  } catch (err) {
    throw new ManagedLedgerError('MetaStoreException', `cannot parse ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function encodeManagedLedgerInfo(info: ManagedLedgerInfo): Buffer {
  return encode('ManagedLedgerInfo', {
    ledgerInfo: info.ledgers.map((l) => ({
      ledgerId: l.ledgerId.toString(),
      entries: l.entries,
      size: l.size,
      timestamp: l.timestamp,
    })),
    terminatedPosition: info.terminatedPosition === undefined ? undefined : nested(info.terminatedPosition),
    properties: [...info.properties].map(([key, value]) => ({ key, value })),
  });
}

export function decodeManagedLedgerInfo(bytes: Uint8Array, what = 'ManagedLedgerInfo'): ManagedLedgerInfo {
  const o = decode<{
    ledgerInfo?: Array<{ ledgerId: Long; entries?: Long; size?: Long; timestamp?: Long }>;
    terminatedPosition?: NestedObject;
    properties?: Array<{ key: string; value: string }>;
  }>('ManagedLedgerInfo', bytes, what);
  return {
    ledgers: (o.ledgerInfo ?? []).map((l) => ({
      ledgerId: BigInt(l.ledgerId),
      entries: Number(l.entries ?? 0),
      size: Number(l.size ?? 0),
      timestamp: Number(l.timestamp ?? 0),
    })),
    terminatedPosition: o.terminatedPosition === undefined ? undefined : position(o.terminatedPosition),
    properties: new Map((o.properties ?? []).map((p) => [p.key, p.value])),
  };
}

export function encodePositionInfo(info: PositionInfo): Buffer {
  return encode('PositionInfo', {
    ledgerId: info.position.ledgerId.toString(),
    entryId: info.position.entryId.toString(),
    individualDeletedMessages: rangesOut(info.individualDeletedMessages),
    properties: longPropsOut(info.properties),
  });
}

export function decodePositionInfo(bytes: Uint8Array, what = 'PositionInfo'): PositionInfo {
  const o = decode<
    NestedObject & {
      individualDeletedMessages?: RangeObject[];
      properties?: NamedObject[];
    }
  >('PositionInfo', bytes, what);
  return {
    position: position(o),
    individualDeletedMessages: rangesIn(o.individualDeletedMessages),
    properties: longPropsIn(o.properties),
  };
}

export function encodeManagedCursorInfo(info: ManagedCursorInfo): Buffer {
  return encode('ManagedCursorInfo', {
    cursorsLedgerId: info.cursorsLedgerId.toString(),
    markDeleteLedgerId: info.markDelete?.ledgerId.toString(),
    markDeleteEntryId: info.markDelete?.entryId.toString(),
    individualDeletedMessages: rangesOut(info.individualDeletedMessages),
    properties: longPropsOut(info.properties),
    lastActive: info.lastActive,
    cursorProperties: [...info.cursorProperties].map(([name, value]) => ({ name, value })),
  });
}

export function decodeManagedCursorInfo(bytes: Uint8Array, what = 'ManagedCursorInfo'): ManagedCursorInfo {
  const o = decode<{
    cursorsLedgerId: Long;
    markDeleteLedgerId?: Long;
    markDeleteEntryId?: Long;
    individualDeletedMessages?: RangeObject[];
    properties?: NamedObject[];
    lastActive?: Long;
    cursorProperties?: Array<{ name: string; value: string }>;
  }>('ManagedCursorInfo', bytes, what);
  return {
    cursorsLedgerId: BigInt(o.cursorsLedgerId),
    markDelete:
      o.markDeleteLedgerId === undefined || o.markDeleteEntryId === undefined
        ? undefined
        : new Position(BigInt(o.markDeleteLedgerId), BigInt(o.markDeleteEntryId)),
    individualDeletedMessages: rangesIn(o.individualDeletedMessages),
    properties: longPropsIn(o.properties),
    lastActive: o.lastActive === undefined ? undefined : Number(o.lastActive),
    cursorProperties: new Map((o.cursorProperties ?? []).map((p) => [p.name, p.value])),
  };
}
