import { z } from 'zod';

/**
 * Builders for configuration settings. Every setting arrives as a string (from a `key=value` file, the
 * environment or the command line) and is turned into its type here, with a message that says what the key
 * expects, so `loadConfig` can report `key="value": expected ...`.
 */
export const setting = {
  integer(defaultValue: number, range: { min?: number; max?: number } = {}) {
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    // Digits only: Number() would also take "1e3", "0x10" or "1.0".
    return numberSetting(
      defaultValue,
      (value, text) => /^-?\d+$/.test(text) && Number.isSafeInteger(value) && value >= min && value <= max,
      `an integer${describeRange(range)}`,
    );
  },

  number(defaultValue: number, range: { min?: number; max?: number } = {}) {
    const min = range.min ?? -Infinity;
    const max = range.max ?? Infinity;
    return numberSetting(
      defaultValue,
      (value) => value >= min && value <= max,
      `a number${describeRange(range)}`,
    );
  },

  /** A number strictly between 0 and 1 (a share of a disk, say, where 0 and 1 make no sense). */
  fraction(defaultValue: number) {
    return numberSetting(
      defaultValue,
      (value) => value > 0 && value < 1,
      'a fraction strictly between 0 and 1',
    );
  },

  port(defaultValue: number) {
    return setting.integer(defaultValue, { min: 0, max: 65535 });
  },

  boolean(defaultValue: boolean) {
    return z
      .string()
      .default(String(defaultValue))
      .transform((raw, ctx) => {
        const text = raw.trim().toLowerCase();
        if (text === 'true') return true;
        if (text === 'false') return false;
        ctx.addIssue({ code: 'custom', message: 'expected true or false' });
        return z.NEVER;
      });
  },

  string(defaultValue: string) {
    return z.string().default(defaultValue);
  },

  /** A comma-separated list, e.g. `journalDirectories=/d1/journal,/d2/journal`; empty items are dropped. */
  list(defaultValue: readonly string[], options: { minItems?: number } = {}) {
    return z
      .string()
      .default(defaultValue.join(','))
      .transform((raw, ctx) => {
        const items = raw
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '');
        if (items.length < (options.minItems ?? 0)) {
          ctx.addIssue({
            code: 'custom',
            message: `expected a comma-separated list of at least ${options.minItems} items`,
          });
          return z.NEVER;
        }
        return items;
      });
  },

  oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
    return z
      .string()
      .default(defaultValue)
      .transform((raw, ctx) => {
        const text = raw.trim();
        if (!(values as readonly string[]).includes(text)) {
          ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}` });
          return z.NEVER;
        }
        return text as T[number];
      });
  },
};

function describeRange(range: { min?: number; max?: number }): string {
  if (range.min !== undefined && range.max !== undefined) return ` from ${range.min} to ${range.max}`;
  if (range.min !== undefined) return ` ≥ ${range.min}`;
  if (range.max !== undefined) return ` ≤ ${range.max}`;
  return '';
}

/**
 * A finite number that `accepts` takes (given the value and the trimmed text it came from); anything else fails
 * with "expected <expected>".
 */
function numberSetting(
  defaultValue: number,
  accepts: (value: number, text: string) => boolean,
  expected: string,
) {
  return z
    .string()
    .default(String(defaultValue))
    .transform((raw, ctx) => {
      const text = raw.trim();
      const value = Number(text);
      if (text === '' || !Number.isFinite(value) || !accepts(value, text)) {
        ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
        return z.NEVER;
      }
      return value;
    });
}
