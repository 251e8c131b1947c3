import { ConfigError } from '../../common';

/** The rack of a bookie that `bookieRacks` does not name (BookKeeper's NetworkTopology.DEFAULT_RACK). */
export const DEFAULT_RACK = '/default-rack';

const FORM = 'expected host:port=/rack[,host:port=/rack...]';
// host:port or [ipv6]:port, as bookies register themselves.
const BOOKIE_ID = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
// A network location: one or more /segments, e.g. /rack1 or /region1/rack1.
const RACK = /^(\/[A-Za-z0-9._-]+)+$/;

/**
 * Parses the `bookieRacks` setting, `host:port=/rack,host:port=/rack`, into bookie id → rack. Whitespace around
 * items is ignored; anything else malformed (an item without `=`, a bookie id that is not host:port, a rack that
 * is not a /path, a bookie named twice) is a ConfigError naming the key, the item and what was expected.
 */
export function parseBookieRacks(text: string): Map<string, string> {
  const racks = new Map<string, string>();
  if (text.trim() === '') return racks;
  text.split(',').forEach((raw, i) => {
    const item = raw.trim();
    const bad = (why: string): ConfigError =>
      new ConfigError(`bookieRacks: item ${i + 1} "${item}" ${why}; ${FORM}`);
    const eq = item.indexOf('=');
    if (eq < 0) throw bad('has no "="');
    const bookieId = item.slice(0, eq).trim();
    const rack = item.slice(eq + 1).trim();
    const match = BOOKIE_ID.exec(bookieId);
    const port = match === null ? NaN : Number(match[2]);
    if (match === null || !(port >= 1 && port <= 65535))
      throw bad(`names bookie "${bookieId}", not host:port`);
    if (!RACK.test(rack)) throw bad(`names rack "${rack}", not a path like /rack1 or /region1/rack1`);
    if (racks.has(bookieId)) throw bad(`names bookie ${bookieId} again`);
    racks.set(bookieId, rack);
  });
  return racks;
}
