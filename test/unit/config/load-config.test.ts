import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSecrets, ConfigError, loadConfig, parseConfig, reviewConfig } from '../../../agent/config/load-config.js';
import { parseDuration } from '../../../agent/config/duration.js';
import { SecretValue, resolveSecret } from '../../../agent/config/secret.js';
import { inspect } from 'node:util';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');
const env = { SW_TEST_PW: 'pw-from-env' };

/** Review a fixture the way `seedwatch check` does, and return every problem line (config + secrets), in one pass. */
function problemsOf(file: string): string[] {
  const text = readFileSync(join(FIXTURES, file), 'utf8');
  const review = reviewConfig(text, file, { baseDir: FIXTURES, env });
  return [...review.problems, ...review.secrets.flatMap((s) => (s.error ? [s.error] : []))];
}

describe('invalid configurations: one fixture per error class, exact message', () => {
  const cases = readdirSync(FIXTURES).filter((f) => f.endsWith('.expected'));
  it('has a fixture for every error class the issue names', () => {
    for (const c of ['unknown-key', 'wrong-type', 'bad-duration', 'bad-cron', 'duplicate-path', 'duplicate-seed', 'unknown-provider', 'missing-secret', 'combined']) {
      expect(cases).toContain(`${c}.expected`);
    }
  });
  for (const expectedFile of cases) {
    const yamlFile = expectedFile.replace(/\.expected$/, '.yaml');
    it(yamlFile, () => {
      const expected = readFileSync(join(FIXTURES, expectedFile), 'utf8').trimEnd().split('\n');
      expect(problemsOf(yamlFile)).toEqual(expected);
    });
  }

  it('a YAML syntax error names the file, line and column', () => {
    const [line] = problemsOf('yaml-syntax.yaml');
    expect(line).toMatch(/^yaml-syntax\.yaml:\d+:\d+ YAML syntax error: /);
  });

  it('a missing env secret names the variable and never prints a value', () => {
    const text = `probe: { from: "P <p@x.test>", dkim: { domain: x.test, selector: s, privateKey: { env: SW_SET_KEY } } }
paths: [{ name: p, smtp: { host: h, auth: { user: u, pass: { env: SW_SET_PASS } } } }]
seeds: [{ name: s, address: a@b.cd, provider: gmail, imap: { user: u, password: { env: SW_UNSET_PW } } }]
`;
    const cfg = parseConfig(text, 'secrets.yaml');
    const env = { SW_SET_KEY: 'distinct-key-5519', SW_SET_PASS: 'distinct-pass-7731' };
    const res = checkSecrets(cfg, env);
    expect(res.filter((r) => r.error).map((r) => r.error)).toEqual(['secrets.yaml: seeds[0].imap.password: environment variable SW_UNSET_PW is not set']);
    const everything = JSON.stringify(res) + JSON.stringify(cfg);
    expect(everything).not.toContain('distinct-key-5519');
    expect(everything).not.toContain('distinct-pass-7731');
  });

  it('a wrong type says what was found without echoing the value', () => {
    const text = 'probe: { from: 12345 }\npaths: [{ name: p, smtp: { host: h } }]\nseeds: [{ name: s, address: a@b.cd, provider: gmail, imap: { user: u, password: secretvalue } }]\n';
    let msg = '';
    try {
      parseConfig(text, 'x.yaml');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toBe('x.yaml: probe.from: expected a string, got an integer');
  });

  it.each([
    ['[!!binary ]', 'top.yaml: (top level): expected a mapping, got a list'],
    ['x: !!binary AAAA', 'top.yaml: x: expected plain YAML (a mapping, list, string, number or boolean), got a tagged value such as !!binary'],
  ])('%j: the problem names the right place (found by the property test)', (text, message) => {
    expect(() => parseConfig(text, 'top.yaml')).toThrow(message);
  });

  it('reports every problem at once, not only the first', () => {
    const text = 'deadline: soon\nschedule: never\nprobe: { from: x }\npaths: []\nseeds: []\n';
    let problems: string[] = [];
    try {
      parseConfig(text, 'multi.yaml');
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'multi.yaml: schedule: invalid cron expression "never" (5 fields, or 6 with seconds first, e.g. "*/5 * * * *")',
      'multi.yaml: deadline: expected a duration such as 30s, 5m or 2h, got "soon"',
      'multi.yaml: paths: expected at least one path',
      'multi.yaml: seeds: expected at least one seed',
    ]);
  });
});

describe('a valid configuration', () => {
  const cfg = loadConfig(join(FIXTURES, 'valid.yaml'));

  it('fills documented defaults with units', () => {
    expect(cfg.deadline).toBe(120_000);
    expect(cfg.jitter).toBe(0);
    expect(cfg.concurrency).toBe(8);
    expect(cfg.watch.pollInterval).toBe(30_000);
    expect(cfg.watch.cleanup).toBe('trash');
    expect(cfg.paths[0].timeout).toBe(60_000);
    expect(cfg.paths[0].smtp!.secure).toBe(false);
    expect(cfg.paths[1].mx!.port).toBe(2526);
    expect(cfg.probe.subject).toBe('Your weekly digest {{id}}');
    expect(cfg.dataDirAbs).toBe(join(FIXTURES, 'data'));
  });

  it('accepts a six-field (seconds) cron schedule', () => {
    expect(cfg.schedule).toBe('*/10 * * * * *');
  });

  it('merges the provider preset with per-seed overrides', () => {
    const gmail = cfg.seeds[0];
    expect(gmail.imap).toMatchObject({ host: '127.0.0.1', port: 1143, secure: false, user: 'seed.one' });
    expect(gmail.preset.capabilities.gmailTabs).toBe(true);
    expect(gmail.preset.connectionBudget).toBe(15);
    const outlook = cfg.seeds[1];
    expect(outlook.imap).toMatchObject({ host: 'outlook.office365.com', port: 993, secure: true });
    expect(outlook.imap.auth.kind).toBe('oauth2');
    expect(outlook.folders.spam).toBe('Junk Email');
    expect(outlook.cleanup).toBe('keep');
  });

  it('resolves env and file secrets relative to the config file', () => {
    const res = checkSecrets(cfg, env);
    expect(res.map((r) => [r.path, r.source, r.error ?? null])).toEqual([
      ['seeds[0].imap.password', 'env SW_TEST_PW', null],
      ['seeds[1].imap.oauth2.refreshToken', 'file ./refresh-token.txt', null],
    ]);
  });

  it('warns about a literal secret without repeating it', () => {
    const text = 'probe: { from: x }\npaths: [{ name: p, smtp: { host: h } }]\nseeds: [{ name: s, address: a@b.cd, provider: gmail, imap: { user: u, password: hunter2literal } }]\n';
    const c = parseConfig(text, 'lit.yaml');
    expect(c.warnings).toEqual(['lit.yaml: seeds[0].imap.password: literal secret in the config file; prefer { env: NAME } or { file: PATH }']);
    expect(c.warnings.join()).not.toContain('hunter2literal');
  });

  it('the shipped example validates', () => {
    const example = loadConfig(join(FIXTURES, '../../../seed-accounts/seedwatch.example.yaml'));
    expect(example.paths.map((p) => p.name)).toEqual(['peering', 'transit']);
    expect(example.seeds.map((s) => s.provider)).toEqual(['gmail', 'outlook']);
  });
});

describe('durations and secrets', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['5', null],
    ['5 m', null],
    ['-1s', null],
    ['1.5h', null],
  ])('parseDuration(%s) = %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('a resolved secret never prints its value', () => {
    const s = resolveSecret({ env: 'X' }, 'f', { env: { X: 'topsecret-42' } });
    expect(s).toBeInstanceOf(SecretValue);
    expect(s.reveal()).toBe('topsecret-42');
    for (const rendered of [String(s), `${s}`, JSON.stringify({ s }), inspect({ s }), inspect(s)]) {
      expect(rendered).not.toContain('topsecret-42');
    }
  });

  it('a file secret drops the trailing newline; a missing file names the file', () => {
    expect(resolveSecret({ file: 'refresh-token.txt' }, 'f', { baseDir: FIXTURES }).reveal()).toBe('rt-value-from-file');
    expect(() => resolveSecret({ file: 'nope.txt' }, 'seeds[0].imap.password', { baseDir: FIXTURES })).toThrow(
      'seeds[0].imap.password: secret file nope.txt cannot be read (ENOENT)',
    );
  });
});
