/**
 * Where a command writes: a person reads lines on stdout; `--json` prints one JSON document for scripts.
 * 64-bit ids are bigints inside ledgerline and become decimal strings here, at the JSON edge.
 */
export interface Output {
  json: boolean;
  line(text: string): void;
  document(value: unknown): void;
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

export function stdoutOutput(json: boolean): Output {
  return {
    json,
    line: (text) => process.stdout.write(`${text}\n`),
    document: (value) => process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`),
  };
}
