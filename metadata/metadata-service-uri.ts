import { isAbsolute, resolve } from 'node:path';
import type { Logger } from '../common';
import { EmbeddedMetadataStore } from './embedded-metadata-store';
import { BadMetadataUriError } from './errors';
import { EtcdMetadataStore } from './etcd-metadata-store';
import type { MetadataStore } from './metadata-store';

/*
 * metadataServiceUri, as BookKeeper spells it:
 *   etcd://host1:2379,host2:2379/ledgers   hosts split on ',' or ';', endpoints http://host:port, path = scope
 *   embedded:<dir>[?scope=/ledgers]        a RocksDB directory (absolute, or relative to the working directory)
 */

export const DEFAULT_SCOPE = '/ledgers';

export type MetadataServiceUri =
  { kind: 'etcd'; endpoints: string[]; scope: string } | { kind: 'embedded'; dir: string; scope: string };

const ETCD_FORM = 'etcd://host:port[,host:port...]/<scope>';
const EMBEDDED_FORM = 'embedded:<dir>[?scope=/<scope>]';
const ETCD_EXPECTED = `expected ${ETCD_FORM}`;
const EMBEDDED_EXPECTED = `expected ${EMBEDDED_FORM}`;

/** Parses a metadataServiceUri; throws `BadMetadataUriError` naming the URI and what was expected. */
export function parseMetadataServiceUri(uri: string): MetadataServiceUri {
  const trimmed = uri.trim();
  const colon = trimmed.indexOf(':');
  const scheme = colon > 0 ? trimmed.slice(0, colon).toLowerCase() : '';
  if (scheme === 'etcd') return parseEtcd(uri, trimmed.slice(colon + 1));
  if (scheme === 'embedded') return parseEmbedded(uri, trimmed.slice(colon + 1));
  throw new BadMetadataUriError(uri, `unknown scheme "${scheme}"; expected ${ETCD_FORM} or ${EMBEDDED_FORM}`);
}

function parseEtcd(uri: string, rest: string): MetadataServiceUri {
  if (!rest.startsWith('//')) throw new BadMetadataUriError(uri, ETCD_EXPECTED);
  const afterSlashes = rest.slice(2);
  const slash = afterSlashes.indexOf('/');
  const hostList = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
  const path = slash < 0 ? '' : afterSlashes.slice(slash);
  if (path.includes('?') || path.includes('#')) {
    throw new BadMetadataUriError(uri, `query and fragment are not supported; ${ETCD_EXPECTED}`);
  }
  const endpoints = hostList.split(/[,;]/).map((host) => parseHostPort(uri, host.trim()));
  if (endpoints.length === 0) throw new BadMetadataUriError(uri, `no hosts; ${ETCD_EXPECTED}`);
  return { kind: 'etcd', endpoints, scope: normalizeScope(uri, path) };
}

function parseHostPort(uri: string, host: string): string {
  // host:port, or [ipv6]:port
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(host);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new BadMetadataUriError(uri, `bad host "${host}"; ${ETCD_EXPECTED}`);
  }
  return `http://${match[1]}:${port}`;
}

function parseEmbedded(uri: string, rest: string): MetadataServiceUri {
  const question = rest.indexOf('?');
  const dirPart = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? '' : rest.slice(question + 1);
  // Accept embedded:///abs/dir (URL style) as well as embedded:/abs/dir and embedded:relative/dir.
  const dir = dirPart.startsWith('//') ? dirPart.slice(2) : dirPart;
  if (dir.length === 0) throw new BadMetadataUriError(uri, `no directory; ${EMBEDDED_EXPECTED}`);
  let scope = DEFAULT_SCOPE;
  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (name !== 'scope')
      throw new BadMetadataUriError(uri, `unknown parameter "${name}"; ${EMBEDDED_EXPECTED}`);
  }
  const scopeParam = params.get('scope');
  if (scopeParam !== null) scope = normalizeScope(uri, scopeParam);
  return { kind: 'embedded', dir: isAbsolute(dir) ? dir : resolve(dir), scope };
}

/** A scope is an absolute key path without a trailing slash: `/ledgers`, `/bk/ledgers`. */
function normalizeScope(uri: string, path: string): string {
  const scope = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (scope === '' || scope === '/') return DEFAULT_SCOPE;
  if (!scope.startsWith('/') || scope.includes('//')) {
    throw new BadMetadataUriError(uri, `bad scope "${path}"; a scope looks like /ledgers`);
  }
  return scope;
}

export interface CreateMetadataStoreOptions {
  logger: Logger;
  /** etcd only: how long one call may take before it fails with MetadataUnavailableError. */
  requestTimeoutMs?: number;
}

/** Opens the store a metadataServiceUri names; returns it with the scope (key prefix) the URI gives. */
export async function createMetadataStore(
  uri: string,
  options: CreateMetadataStoreOptions,
): Promise<{ store: MetadataStore; scope: string }> {
  const parsed = parseMetadataServiceUri(uri);
  if (parsed.kind === 'etcd') {
    const store = await EtcdMetadataStore.connect({
      endpoints: parsed.endpoints,
      logger: options.logger,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
    return { store, scope: parsed.scope };
  }
  const store = await EmbeddedMetadataStore.open({ dir: parsed.dir, logger: options.logger });
  return { store, scope: parsed.scope };
}
