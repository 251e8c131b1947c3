/**
 * The protobuf text format, as far as BookKeeper's metadata needs it: cookies (layout version 4+) and ledger
 * metadata format v2 are stored as `TextFormat` output of protobuf-java. This is a small, schema-less reader
 * (fields become name/value pairs; the caller interprets them) and the string escaping of the writer.
 *
 * Grammar read here (a superset of what protobuf-java prints):
 *
 *   message := { field [',' | ';'] }
 *   field   := name ( ':' scalar | ':' '[' scalar {',' scalar} ']' | [':'] ( '{' message '}' | '<' message '>' ) )
 *   scalar  := identifier | number | string { string }      (adjacent strings concatenate)
 *   string  := '"' chars '"' | "'" chars "'"                (C escapes, octal \ooo, hex \xHH)
 *   comment := '#' to end of line
 *
 * Errors are plain `TextFormatError`s with the offset; callers wrap them into their own family.
 */

export class TextFormatError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'TextFormatError';
  }
}

export type TextValue =
  | { kind: 'identifier'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'string'; bytes: Buffer }
  | { kind: 'message'; fields: TextField[] };

export interface TextField {
  name: string;
  value: TextValue;
}

/** Nested messages deeper than this are rejected (BookKeeper's formats nest one level). */
const DEPTH_MAX = 16;

export function parseTextFormat(text: string): TextField[] {
  const parser = new TextParser(text);
  const fields = parser.message(0, undefined);
  return fields;
}

class TextParser {
  private offset = 0;

  constructor(private readonly text: string) {}

  message(depth: number, close: string | undefined): TextField[] {
    if (depth > DEPTH_MAX) throw new TextFormatError('messages nested too deeply', this.offset);
    const fields: TextField[] = [];
    for (;;) {
      this.skipSpace();
      if (this.offset >= this.text.length) {
        if (close !== undefined) throw new TextFormatError(`expected '${close}' before the end`, this.offset);
        return fields;
      }
      if (close !== undefined && this.text[this.offset] === close) {
        this.offset++;
        return fields;
      }
      const name = this.identifier();
      this.skipSpace();
      let colon = false;
      if (this.text[this.offset] === ':') {
        colon = true;
        this.offset++;
        this.skipSpace();
      }
      const c = this.text[this.offset];
      if (c === '{' || c === '<') {
        this.offset++;
        fields.push({
          name,
          value: { kind: 'message', fields: this.message(depth + 1, c === '{' ? '}' : '>') },
        });
      } else if (!colon) {
        throw new TextFormatError(`expected ':' after field name '${name}'`, this.offset);
      } else if (c === '[') {
        this.offset++;
        this.skipSpace();
        if (this.text[this.offset] === ']') {
          this.offset++;
        } else {
          for (;;) {
            fields.push({ name, value: this.scalar() });
            this.skipSpace();
            const next = this.text[this.offset];
            this.offset++;
            if (next === ']') break;
            if (next !== ',') throw new TextFormatError("expected ',' or ']' in a list", this.offset - 1);
            this.skipSpace();
          }
        }
      } else {
        fields.push({ name, value: this.scalar() });
      }
      this.skipSpace();
      const sep = this.text[this.offset];
      if (sep === ',' || sep === ';') this.offset++;
    }
  }

  private skipSpace(): void {
    while (this.offset < this.text.length) {
      const c = this.text[this.offset];
      if (c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.offset++;
      } else if (c === '#') {
        while (this.offset < this.text.length && this.text[this.offset] !== '\n') this.offset++;
      } else {
        return;
      }
    }
  }

  private identifier(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.offset, this.offset + 256));
    if (match === null) throw new TextFormatError('expected a field name', this.offset);
    this.offset += match[0].length;
    return match[0];
  }

  private scalar(): TextValue {
    const c = this.text[this.offset];
    if (c === '"' || c === "'") {
      const parts: Buffer[] = [];
      while (this.text[this.offset] === '"' || this.text[this.offset] === "'") {
        parts.push(this.quoted());
        this.skipSpace();
      }
      return { kind: 'string', bytes: Buffer.concat(parts) };
    }
    const rest = this.text.slice(this.offset, this.offset + 128);
    const number = /^[-+]?(?:[0-9][0-9A-Za-z_.+-]*|inf(?:inity)?|nan)/i.exec(rest);
    if (number !== null && /^[-+]?[0-9]/.test(number[0])) {
      this.offset += number[0].length;
      return { kind: 'number', text: number[0] };
    }
    const identifier = /^-?[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (identifier === null) throw new TextFormatError('expected a value', this.offset);
    this.offset += identifier[0].length;
    return { kind: 'identifier', text: identifier[0] };
  }

  /** One quoted string, escapes resolved, as bytes (text outside escapes is UTF-8). */
  private quoted(): Buffer {
    const quote = this.text[this.offset];
    const start = this.offset;
    this.offset++;
    const bytes: number[] = [];
    for (;;) {
      if (this.offset >= this.text.length) throw new TextFormatError('unterminated string', start);
      const c = this.text[this.offset]!;
      this.offset++;
      if (c === quote) return Buffer.from(bytes);
      if (c === '\n') throw new TextFormatError('newline inside a string', this.offset - 1);
      if (c !== '\\') {
        const code = c.codePointAt(0)!;
        if (code < 0x80) {
          bytes.push(code);
        } else {
          // A non-ASCII character (or a surrogate pair): its UTF-8 bytes.
          const char = String.fromCodePoint(this.text.codePointAt(this.offset - 1)!);
          if (char.length === 2) this.offset++;
          bytes.push(...Buffer.from(char, 'utf8'));
        }
        continue;
      }
      const e = this.text[this.offset];
      if (e === undefined) throw new TextFormatError('unterminated escape', this.offset);
      this.offset++;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        bytes.push(simple);
      } else if (e >= '0' && e <= '7') {
        let value = e.charCodeAt(0) - 48;
        for (let i = 0; i < 2; i++) {
          const d = this.text[this.offset];
          if (d === undefined || d < '0' || d > '7') break;
          value = value * 8 + (d.charCodeAt(0) - 48);
          this.offset++;
        }
        if (value > 0xff) throw new TextFormatError('octal escape out of range', this.offset);
        bytes.push(value);
      } else if (e === 'x' || e === 'X') {
        const hex = /^[0-9A-Fa-f]{1,2}/.exec(this.text.slice(this.offset, this.offset + 2));
        if (hex === null) throw new TextFormatError('bad hex escape', this.offset);
        this.offset += hex[0].length;
        bytes.push(parseInt(hex[0], 16));
      } else if (e === 'u') {
        const hex = /^[0-9A-Fa-f]{4}/.exec(this.text.slice(this.offset, this.offset + 4));
        if (hex === null) throw new TextFormatError('bad unicode escape', this.offset);
        this.offset += 4;
        bytes.push(...Buffer.from(String.fromCharCode(parseInt(hex[0], 16)), 'utf8'));
      } else {
        throw new TextFormatError(`unknown escape '\\${e}'`, this.offset - 1);
      }
    }
  }
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  '?': 0x3f,
};

const ESCAPE_OUT: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x5c: '\\\\',
  0x27: "\\'",
  0x22: '\\"',
};

/**
 * Escapes bytes the way protobuf-java's `TextFormat.escapeBytes` does: C escapes for the usual control
 * characters, backslash and both quotes; printable ASCII as is; every other byte (including UTF-8 of
 * non-ASCII text) as a three-digit octal escape.
 */
export function escapeTextBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const escaped = ESCAPE_OUT[b];
    if (escaped !== undefined) out += escaped;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += '\\' + b.toString(8).padStart(3, '0');
  }
  return out;
}

/** `name: "escaped"` + newline, as protobuf-java prints a string or bytes field at the top level. */
export function printTextString(name: string, value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return `${name}: "${escapeTextBytes(bytes)}"\n`;
}

/** The fields of `fields` named `name`, in order. */
export function textFieldsNamed(fields: readonly TextField[], name: string): TextValue[] {
  return fields.filter((f) => f.name === name).map((f) => f.value);
}

/** The last occurrence of a singular field (protobuf merges repeated occurrences of a singular field: last wins). */
export function lastTextField(fields: readonly TextField[], name: string): TextValue | undefined {
  for (let i = fields.length - 1; i >= 0; i--) {
    const field = fields[i]!;
    if (field.name === name) return field.value;
  }
  return undefined;
}

/** A string or bytes field's value; throws on another kind. */
export function textBytes(value: TextValue, name: string): Buffer {
  if (value.kind !== 'string') throw new TextFormatError(`field '${name}' must be a string`, 0);
  return value.bytes;
}

/** An integer field's value as a bigint within [min, max] (decimal, hex `0x` or octal `0` like protobuf). */
export function textInteger(value: TextValue, name: string, min: bigint, max: bigint): bigint {
  if (value.kind !== 'number') throw new TextFormatError(`field '${name}' must be an integer`, 0);
  const match = /^([-+]?)(0[xX][0-9A-Fa-f]+|0[0-7]*|[1-9][0-9]*)$/.exec(value.text);
  if (match === null || value.text.length > 40) {
    throw new TextFormatError(`field '${name}' has a bad integer '${value.text}'`, 0);
  }
  const digits = match[2]!;
  let magnitude: bigint;
  if (/^0[xX]/.test(digits)) magnitude = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith('0')) magnitude = BigInt('0o' + digits.slice(1));
  else magnitude = BigInt(digits);
  const result = match[1] === '-' ? -magnitude : magnitude;
  if (result < min || result > max) {
    throw new TextFormatError(`field '${name}' is out of range: ${value.text}`, 0);
  }
  return result;
}
