import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Configuration files are BookKeeper's and Pulsar's `key=value` properties files: one setting per line,
 * `#` or `!` starts a comment, blank lines are ignored, whitespace around key and value is trimmed.
 */
export function parseConfText(text: string, source = 'conf'): Record<string, string> {
  const settings: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.search(/[=:]/);
    if (eq <= 0) {
      throw new ConfigError(`${source}:${i + 1}: expected key=value, got "${line}"`);
    }
    settings[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return settings;
}

export function readConfFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseConfText(text, path);
}

/**
 * Every key can be overridden from the environment, by its own name (`bookiePort=3182`) or with the
 * `LEDGERLINE_` prefix (`LEDGERLINE_bookiePort=3182`); the prefixed form wins.
 */
export function environmentOverrides(
  keys: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const key of keys) {
    const value = env[`LEDGERLINE_${key}`] ?? env[key];
    if (value !== undefined) overrides[key] = value;
  }
  return overrides;
}

export interface LoadConfigOptions {
  /** Path of a `key=value` file; absent means defaults plus environment. */
  confPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Settings given on the command line; they win over the file and the environment. */
  overrides?: Record<string, string>;
  /**
   * Ignore keys in the file that the schema does not know. Off by default: an unknown key is almost always a
   * misspelling. Tools that read another process's file (the shell reading a bookie's conf) turn it on.
   */
  ignoreUnknownKeys?: boolean;
}

/**
 * Loads, merges (file < environment < command line) and validates a configuration against a zod schema whose
 * fields are strings coerced to their types. A bad value fails with a message naming the key, the value and what
 * the key expects; an unknown key in the file fails too, since it is almost always a misspelling.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, options: LoadConfigOptions = {}): z.infer<S> {
  const keys = Object.keys(schema.shape);
  const fromFile = options.confPath === undefined ? {} : readConfFile(options.confPath);
  for (const key of Object.keys(fromFile)) {
    if (options.ignoreUnknownKeys) {
      if (!keys.includes(key)) delete fromFile[key];
    } else if (!keys.includes(key)) {
      throw new ConfigError(`${options.confPath}: unknown key "${key}" (known keys: ${keys.join(', ')})`);
    }
  }
  const raw: Record<string, string> = {
    ...fromFile,
    ...environmentOverrides(keys, options.env ?? process.env),
    ...(options.overrides ?? {}),
  };
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '?');
      return `${key}=${JSON.stringify(raw[key] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}
