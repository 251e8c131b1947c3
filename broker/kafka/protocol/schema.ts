import { KafkaProtocolError } from './errors';
import type { KafkaReader, KafkaWriter } from './primitives';

/**
 * Message schemas as data, after Kafka's own message JSON: a struct is an ordered list of named fields, each with
 * the versions it exists in (`'0+'`, `'2-4'`, `'1'`) and, where it may be null, the versions that allow it. One
 * generic reader and writer interpret a schema at a given version, so the difference between two versions of an
 * API is a line of data, not a second codec. In a flexible version strings, bytes and arrays are compact and every
 * struct ends with a tagged-field section (read and skipped, written empty: none of our versions has a tagged field
 * we use).
 *
 * Types are inferred from the schemas: `ValueOf<S>` is what decoding gives (every field present: one missing from
 * the version read takes its default), `InputOf<S>` is what encoding takes (a field with a default, or one that
 * exists only in some versions, may be left out; a field missing from the version written is ignored).
 */

/** An inclusive version range; `max` is Infinity for `'N+'`. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export function versionRange(spec: string): VersionRange {
  const match = /^(\d+)(\+|-(\d+))?$/.exec(spec);
  if (match === null) throw new Error(`bad version range ${JSON.stringify(spec)}`);
  const min = Number(match[1]);
  if (match[2] === undefined) return { min, max: min };
  if (match[2] === '+') return { min, max: Infinity };
  return { min, max: Number(match[3]) };
}

const NO_VERSIONS: VersionRange = { min: 1, max: 0 };

function inRange(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

type Primitive = 'int8' | 'int16' | 'int32' | 'int64' | 'uint32' | 'boolean' | 'string' | 'bytes';

/**
 * A wire type. `T` is the decoded value, `I` what an encoder accepts (they differ only for structs, whose
 * defaulted fields are optional on input). The phantom members are never set.
 */
export type WireType<T, I = T> = (
  | { readonly kind: 'primitive'; readonly primitive: Primitive; readonly nullable: VersionRange }
  | { readonly kind: 'array'; readonly element: WireType<unknown>; readonly nullable: VersionRange }
  | { readonly kind: 'struct'; readonly fields: readonly FieldSpec[] }
) & { readonly __value?: T; readonly __input?: I };

function primitive<T>(name: Primitive): WireType<T> {
  return { kind: 'primitive', primitive: name, nullable: NO_VERSIONS };
}

export const INT8 = primitive<number>('int8');
export const INT16 = primitive<number>('int16');
export const INT32 = primitive<number>('int32');
export const INT64 = primitive<bigint>('int64');
export const UINT32 = primitive<number>('uint32');
export const BOOLEAN = primitive<boolean>('boolean');
export const STRING = primitive<string>('string');
export const BYTES = primitive<Buffer>('bytes');
/** Record batches: nullable bytes kept opaque at this layer (a view of the frame when decoded). */
export const RECORDS = nullable(BYTES, '0+');

export function array<T, I>(element: WireType<T, I>): WireType<T[], I[]> {
  return { kind: 'array', element: element as WireType<unknown>, nullable: NO_VERSIONS };
}

/** The same type, allowed to be null (-1 length / count, or 0 when compact) in the versions given. */
export function nullable<T, I>(type: WireType<T, I>, versions: string): WireType<T | null, I | null> {
  if (type.kind === 'struct') throw new Error('a struct cannot be nullable; make its array nullable');
  return { ...type, nullable: versionRange(versions) } as WireType<T | null, I | null>;
}

export interface FieldSpec {
  readonly name: string;
  readonly type: WireType<unknown>;
  readonly versions: VersionRange;
  /** The value a decoder gives when the version read lacks the field, and an encoder writes when it is left out. */
  readonly defaultValue: unknown;
}

/** A field as declared: its type, whether it may be left out on input. */
export interface Field<T, I, Optional extends boolean> {
  readonly type: WireType<T, I>;
  readonly versions: string;
  readonly defaultValue: T | undefined;
  readonly __optional?: Optional;
}

/** A field in every version, which encoders must be given. */
export function field<T, I>(type: WireType<T, I>): Field<T, I, false>;
/** A field in some versions only, or with a default: optional on input. */
export function field<T, I>(
  type: WireType<T, I>,
  options: { versions?: string; default?: T },
): Field<T, I, true>;
export function field<T, I>(
  type: WireType<T, I>,
  options: { versions?: string; default?: T } = {},
): Field<T, I, boolean> {
  return { type, versions: options.versions ?? '0+', defaultValue: options.default };
}

type Fields = Record<string, Field<unknown, unknown, boolean>>;
type OptionalKeys<F extends Fields> = {
  [K in keyof F]: F[K] extends Field<unknown, unknown, true> ? K : never;
}[keyof F];
type RequiredKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>;
type FieldValue<F> = F extends Field<infer T, unknown, boolean> ? T : never;
type FieldInput<F> = F extends Field<unknown, infer I, boolean> ? I : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type StructValue<F extends Fields> = Simplify<{ [K in keyof F]: FieldValue<F[K]> }>;
export type StructInput<F extends Fields> = Simplify<
  { [K in RequiredKeys<F>]: FieldInput<F[K]> } & { [K in OptionalKeys<F>]?: FieldInput<F[K]> }
>;

/** A struct of fields, in wire order (the order of the object's keys). */
export function struct<F extends Fields>(fields: F): WireType<StructValue<F>, StructInput<F>> {
  const specs: FieldSpec[] = Object.entries(fields).map(([name, f]) => {
    const versions = versionRange(f.versions);
    return {
      name,
      type: f.type as WireType<unknown>,
      versions,
      defaultValue: f.defaultValue !== undefined ? f.defaultValue : zeroValue(f.type as WireType<unknown>),
    };
  });
  return { kind: 'struct', fields: specs };
}

/** Kafka's implicit default: 0, '', false, an empty array or bytes; null for a type nullable in every version. */
function zeroValue(type: WireType<unknown>): unknown {
  if (type.kind === 'struct') return undefined;
  if (type.nullable.min === 0 && type.nullable.max === Infinity) return null;
  if (type.kind === 'array') return [];
  switch (type.primitive) {
    case 'int64':
      return 0n;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    default:
      return 0;
  }
}

export type ValueOf<S> = S extends WireType<infer T, unknown> ? T : never;
export type InputOf<S> = S extends WireType<unknown, infer I> ? I : never;

/** Where in a message a value sits, for error messages (`topics[0].partitions[2].records`). */
function at(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** The least number of bytes a value of this type takes on the wire: bounds array counts before reading. */
function bytesMin(type: WireType<unknown>, version: number, flexible: boolean): number {
  if (type.kind === 'struct') {
    let total = flexible ? 1 : 0;
    for (const f of type.fields)
      if (inRange(f.versions, version)) total += bytesMin(f.type, version, flexible);
    return total;
  }
  if (type.kind === 'array' || type.primitive === 'bytes') return flexible ? 1 : 4;
  switch (type.primitive) {
    case 'int8':
    case 'boolean':
      return 1;
    case 'int16':
      return 2;
    case 'string':
      return flexible ? 1 : 2;
    case 'int64':
      return 8;
    default:
      return 4;
  }
}

export function readValue(
  reader: KafkaReader,
  type: WireType<unknown>,
  version: number,
  flexible: boolean,
  path: string,
): unknown {
  if (type.kind === 'struct') {
    const out: Record<string, unknown> = {};
    for (const f of type.fields) {
      out[f.name] = inRange(f.versions, version)
        ? readValue(reader, f.type, version, flexible, at(path, f.name))
        : freshDefault(f.defaultValue);
    }
    if (flexible) reader.skipTaggedFields();
    return out;
  }
  const mayBeNull = inRange(type.nullable, version);
  let value: unknown;
  if (type.kind === 'array') {
    const count = reader.arrayLength(flexible, bytesMin(type.element, version, flexible));
    if (count < 0) {
      value = null;
    } else {
      const items: unknown[] = [];
      for (let i = 0; i < count; i++)
        items.push(readValue(reader, type.element, version, flexible, `${path}[${i}]`));
      value = items;
    }
  } else {
    value = readPrimitive(reader, type.primitive, flexible);
  }
  if (value === null && !mayBeNull)
    throw reader.fail(`${path} is null, which version ${version} does not allow`);
  return value;
}

/** A default array is copied for each decoded message, so a caller that fills one in does not change the next. */
function freshDefault(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}

function readPrimitive(reader: KafkaReader, primitive: Primitive, flexible: boolean): unknown {
  switch (primitive) {
    case 'int8':
      return reader.int8();
    case 'int16':
      return reader.int16();
    case 'int32':
      return reader.int32();
    case 'int64':
      return reader.int64();
    case 'uint32':
      return reader.uint32();
    case 'boolean':
      return reader.boolean();
    case 'string':
      return flexible ? reader.compactNullableString() : reader.nullableString();
    case 'bytes':
      return flexible ? reader.compactNullableBytes() : reader.nullableBytes();
  }
}

export function writeValue(
  writer: KafkaWriter,
  type: WireType<unknown>,
  value: unknown,
  version: number,
  flexible: boolean,
  path: string,
): void {
  if (type.kind === 'struct') {
    if (typeof value !== 'object' || value === null) throw invalid(path, 'an object', value);
    const record = value as Record<string, unknown>;
    for (const f of type.fields) {
      if (!inRange(f.versions, version)) continue;
      const given = record[f.name];
      writeValue(
        writer,
        f.type,
        given === undefined ? f.defaultValue : given,
        version,
        flexible,
        at(path, f.name),
      );
    }
    if (flexible) writer.emptyTaggedFields();
    return;
  }
  if (value === null || value === undefined) {
    if (!inRange(type.nullable, version)) throw invalid(path, `non-null in version ${version}`, value);
    if (type.kind === 'array') writer.arrayLength(-1, flexible);
    else if (type.primitive === 'string') writer.nullableString(null, flexible);
    else writer.nullableBytes(null, flexible);
    return;
  }
  if (type.kind === 'array') {
    if (!Array.isArray(value)) throw invalid(path, 'an array', value);
    writer.arrayLength(value.length, flexible);
    for (let i = 0; i < value.length; i++) {
      writeValue(writer, type.element, value[i], version, flexible, `${path}[${i}]`);
    }
    return;
  }
  try {
    writePrimitive(writer, type.primitive, value, flexible);
  } catch (err) {
    // The writer knows the value, not where it sits in the message.
    if (err instanceof KafkaProtocolError)
      throw new KafkaProtocolError('InvalidValue', `${err.message} at ${path}`);
    throw err;
  }
}

function writePrimitive(writer: KafkaWriter, primitive: Primitive, value: unknown, flexible: boolean): void {
  switch (primitive) {
    case 'int8':
      return writer.int8(value as number);
    case 'int16':
      return writer.int16(value as number);
    case 'int32':
      return writer.int32(value as number);
    case 'int64':
      return writer.int64(value as bigint);
    case 'uint32':
      return writer.uint32(value as number);
    case 'boolean':
      return writer.boolean(value as boolean);
    case 'string':
      return writer.nullableString(value as string, flexible);
    case 'bytes':
      return writer.nullableBytes(value as Buffer, flexible);
  }
}

function invalid(path: string, what: string, value: unknown): KafkaProtocolError {
  const shown = typeof value === 'object' && value !== null ? 'an object' : String(value);
  return new KafkaProtocolError('InvalidValue', `${shown} is not ${what} at ${path}`);
}
