import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig, parseConfText, setting } from '../../../common';
import { bookieConfigSchema } from '../../../bookie';
import { TempDirs } from '../../harness';

const schema = z.object({
  bookiePort: setting.port(3181),
  journalDirectories: setting.list(['data/journal'], { minItems: 1 }),
  journalSyncData: setting.boolean(true),
  diskUsageThreshold: setting.number(0.95, { min: 0, max: 1 }),
  diskUsageLwmThreshold: setting.fraction(0.9),
  digestType: setting.oneOf(['CRC32', 'CRC32C', 'HMAC', 'DUMMY'] as const, 'CRC32C'),
});

describe('common > config', () => {
  const temp = new TempDirs();
  afterAll(() => temp.removeAll());

  function confFile(text: string): string {
    const path = join(temp.make(), 'test.conf');
    writeFileSync(path, text);
    return path;
  }

  it('parses key=value lines, skipping comments and blank lines', () => {
    expect(parseConfText('# comment\n! also\n\n a = 1 \nb=x=y\nc:3\n')).toEqual({ a: '1', b: 'x=y', c: '3' });
  });

  it('rejects a line that is not key=value, naming the line', () => {
    expect(() => parseConfText('a=1\nnonsense\n', 'x.conf')).toThrow('x.conf:2: expected key=value');
  });

  it('gives defaults when nothing is set', () => {
    expect(loadConfig(schema, { env: {} })).toEqual({
      bookiePort: 3181,
      journalDirectories: ['data/journal'],
      journalSyncData: true,
      diskUsageThreshold: 0.95,
      diskUsageLwmThreshold: 0.9,
      digestType: 'CRC32C',
    });
  });

  it('layers file < environment < command line', () => {
    const path = confFile('bookiePort=4000\njournalDirectories=/a, /b\ndigestType=CRC32\n');
    const config = loadConfig(schema, {
      confPath: path,
      env: { bookiePort: '5000', LEDGERLINE_journalSyncData: 'false' },
      overrides: { digestType: 'HMAC' },
    });
    expect(config).toMatchObject({
      bookiePort: 5000,
      journalDirectories: ['/a', '/b'],
      journalSyncData: false,
      digestType: 'HMAC',
    });
  });

  it.each([
    ['bookiePort', 'abc', 'expected an integer from 0 to 65535'],
    ['bookiePort', '70000', 'expected an integer from 0 to 65535'],
    ['journalSyncData', 'yes', 'expected true or false'],
    ['diskUsageThreshold', '1.5', 'expected a number from 0 to 1'],
    ['diskUsageLwmThreshold', '1', 'expected a fraction strictly between 0 and 1'],
    ['diskUsageLwmThreshold', '0', 'expected a fraction strictly between 0 and 1'],
    ['digestType', 'MD5', 'expected one of CRC32, CRC32C, HMAC, DUMMY'],
    ['journalDirectories', ' , ', 'expected a comma-separated list of at least 1 items'],
  ])('a bad %s=%s fails naming the key, the value and what is expected', (key, value, expected) => {
    const attempt = () => loadConfig(schema, { env: {}, overrides: { [key]: value } });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`${key}=${JSON.stringify(value)}: ${expected}`);
  });

  it('rejects an unknown key in a file, unless asked to ignore it', () => {
    const path = confFile('bookiePort=3181\nbookiPort=3182\n');
    expect(() => loadConfig(schema, { confPath: path, env: {} })).toThrow('unknown key "bookiPort"');
    expect(loadConfig(schema, { confPath: path, env: {}, ignoreUnknownKeys: true }).bookiePort).toBe(3181);
  });

  it('names a missing file', () => {
    expect(() => loadConfig(schema, { confPath: '/nonexistent/x.conf', env: {} })).toThrow(
      'cannot read configuration file /nonexistent/x.conf',
    );
  });

  it('conf/bookie.conf is valid and documents every key of the bookie schema', () => {
    const path = join(__dirname, '..', '..', '..', 'conf', 'bookie.conf');
    const config = loadConfig(bookieConfigSchema, { confPath: path, env: {} });
    expect(config.bookiePort).toBe(3181);
    expect(config.nettyMaxFrameSizeBytes).toBe(5242880);
    const documented = Object.keys(parseConfText(readFileSync(path, 'utf8')));
    expect(documented.sort()).toEqual(Object.keys(bookieConfigSchema.shape).sort());
  });
});
