/**
 * The config loader on hostile input, 10,000 generated inputs per property: raw YAML-ish
 * text, and configs whose every field is valid, missing, or replaced by arbitrary data (with
 * unknown keys and prototype-polluting keys mixed in). parseConfig either returns a config
 * or throws ConfigError — nothing else escapes — and every problem line names where it is:
 * `FILE: field.path: ...` (or `FILE:line:col YAML syntax error`). A secret written as a literal
 * never appears in a problem.
 */
import fc from 'fast-check';
import { parse as parseYaml, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, reviewConfig } from '../../../agent/config/load-config.js';
import { loadPresets } from '../../../agent/config/preset.js';

const RUNS = 10_000;
const FILE = 'gen.yaml';
const presets = loadPresets();
const TOP_KEYS = ['listen', 'dataDir', 'schedule', 'jitter', 'deadline', 'concurrency', 'probe', 'dns', 'watch', 'http', 'paths', 'seeds'];
const SECRET_MARK = 'zqSECRETzq';

/** Arbitrary data a YAML document can hold. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }),
);

/** valid | missing | junk, for one field. */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 6, arbitrary: valid.map((v) => ({ v })) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: junk.map((v) => ({ v })) });

function obj(fields: Record<string, { v: unknown } | undefined>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(fields)) if (f !== undefined) out[k] = f.v;
  return { ...out, ...extra };
}

const extraKeys = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), junk, { maxKeys: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom({ __proto__x: 1 }, { constructor: 'x' }, { toString: 1 }, { colour: 'red' }) },
);

const secret = fc.oneof(
  fc.constantFrom({ env: 'SEED_PW' }, { file: '/run/secrets/x' }),
  fc.string({ minLength: 1, maxLength: 10 }).map((s) => `${SECRET_MARK}${s}`),
  junk,
);

const pathGen = fc
  .record({
    name: field(fc.oneof(fc.constantFrom('peering', 'transit'), fc.string({ maxLength: 10 }))),
    smtp: field(fc.record({ host: fc.constant('127.0.0.1'), port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer()), auth: fc.option(fc.record({ user: fc.constant('u'), pass: secret }), { nil: undefined }) }, { requiredKeys: ['host'] })),
    mx: fc.option(field(fc.record({ helo: fc.constant('out.example.com') })), { nil: undefined }),
    headers: field(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 2 })),
    timeout: field(fc.constantFrom('10s', '1m', '10 seconds', '', '5x')),
    extra: extraKeys,
  })
  .map(({ extra, mx, ...f }) => obj({ ...f, ...(mx ? { mx } : {}) }, extra));

const seedGen = fc
  .record({
    name: field(fc.oneof(fc.constantFrom('gmail-1', 'outlook-1'), fc.string({ maxLength: 10 }))),
    address: field(fc.oneof(fc.constant('seed@gmail.com'), fc.string({ maxLength: 12 }))),
    provider: field(fc.oneof(fc.constantFrom('gmail', 'outlook', 'generic', 'yahoo'), fc.string({ maxLength: 8 }))),
    imap: field(
      fc.record(
        {
          host: fc.constantFrom('127.0.0.1', 'imap.example.com'),
          port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer()),
          user: fc.constant('seed@gmail.com'),
          password: secret,
          oauth2: fc.record({ clientId: fc.constant('id'), refreshToken: secret }),
        },
        { requiredKeys: [] },
      ),
    ),
    cleanup: fc.option(field(fc.constantFrom('keep', 'delete', 'trash', 'shred')), { nil: undefined }),
    extra: extraKeys,
  })
  .map(({ extra, cleanup, ...f }) => obj({ ...f, ...(cleanup ? { cleanup } : {}) }, extra));

const configGen = fc
  .record({
    listen: field(fc.constantFrom('127.0.0.1:9464', '[::1]:9464', 'localhost', ':80')),
    dataDir: field(fc.constantFrom('./data', '/var/lib/seedwatch')),
    schedule: field(fc.constantFrom('*/5 * * * *', '* * * * * *', '*/5 * * *', 'every 5 minutes', '61 * * * *')),
    deadline: field(fc.constantFrom('30m', '2h', '0s', '30 minutes', '-1m')),
    concurrency: field(fc.oneof(fc.integer({ min: 1, max: 256 }), fc.integer())),
    probe: field(fc.record({ from: fc.constant('Probe <p@example.com>'), subject: fc.string({ maxLength: 20 }), dkim: fc.record({ domain: fc.constant('example.com'), selector: fc.constant('s'), privateKey: secret }) }, { requiredKeys: ['from'] })),
    watch: fc.option(field(fc.record({ pollInterval: fc.constantFrom('30s', 'soon'), cleanup: fc.constantFrom('keep', 'bin') }, { requiredKeys: [] })), { nil: undefined }),
    http: fc.option(field(fc.record({ token: secret, protectMetrics: fc.oneof(fc.boolean(), junk) }, { requiredKeys: [] })), { nil: undefined }),
    paths: field(fc.array(pathGen, { maxLength: 3 })),
    seeds: field(fc.array(seedGen, { maxLength: 3 })),
    extra: extraKeys,
  })
  .map(({ extra, watch, http, ...f }) => obj({ ...f, ...(watch ? { watch } : {}), ...(http ? { http } : {}) }, extra));

/** Fully valid configs (so the property also exercises acceptance), names unique. */
const validConfigGen = fc
  .record({
    paths: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/), { minLength: 1, maxLength: 3 }),
    seeds: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/), { minLength: 1, maxLength: 3 }),
    provider: fc.constantFrom('gmail', 'generic', 'yahoo'),
    schedule: fc.constantFrom('*/5 * * * *', '* * * * * *', '0 */2 * * *'),
    deadline: fc.constantFrom('30m', '2h', '90s'),
    concurrency: fc.integer({ min: 1, max: 256 }),
  })
  .map((c) => ({
    schedule: c.schedule,
    deadline: c.deadline,
    concurrency: c.concurrency,
    probe: { from: 'Probe <p@example.com>' },
    paths: c.paths.map((name, i) => ({ name, smtp: { host: '127.0.0.1', port: 2525 + i } })),
    seeds: c.seeds.map((name, i) => ({ name, address: `s${i}@example.com`, provider: c.provider, imap: { host: '127.0.0.1', user: `s${i}`, password: { env: 'PW' } } })),
  }));

/** Problem lines name a field path that starts at a key of the input (or the top level). */
function checkProblems(err: ConfigError, input: Record<string, unknown> | null): void {
  expect(err.problems.length).toBeGreaterThan(0);
  expect(err.message).toBe(err.problems.join('\n'));
  const keys = [...TOP_KEYS, ...(input ? Object.keys(input) : [])];
  for (const line of err.problems) {
    if (/^gen\.yaml:\d*:?\d* YAML syntax error: /.test(line)) continue;
    expect(line.startsWith(`${FILE}: `), line).toBe(true);
    const rest = line.slice(FILE.length + 2);
    const named = rest.startsWith('(top level): ') || keys.some((k) => rest.startsWith(`${k}: `) || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`));
    expect(named, `no field path in: ${line}`).toBe(true);
    expect(line, 'a literal secret leaked into a problem').not.toContain(SECRET_MARK);
  }
}

function parse(text: string, input: Record<string, unknown> | null): void {
  try {
    const cfg = parseConfig(text, FILE, { presets, baseDir: '/tmp' });
    // Accepted: what was given is what is used.
    expect(cfg.seeds.map((s) => s.name)).toEqual((input?.seeds as { name: string }[]).map((s) => s.name));
    expect(cfg.paths.map((p) => p.name)).toEqual((input?.paths as { name: string }[]).map((p) => p.name));
    expect(new Set(cfg.seeds.map((s) => s.name)).size).toBe(cfg.seeds.length);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`non-ConfigError escaped: ${String(err)}\n--- input ---\n${text.slice(0, 2000)}`);
    checkProblems(err, input);
  }
}

describe('parseConfig on hostile input', () => {
  it('generated configs (valid, missing and arbitrary fields): a Config or a ConfigError naming field paths', { timeout: 240_000 }, () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 1, arbitrary: validConfigGen }, { weight: 3, arbitrary: configGen }), (input) => {
        const text = stringify(input);
        try {
          parseConfig(text, FILE, { presets, baseDir: '/tmp' });
          accepted++;
        } catch {
          /* checked in parse() */
        }
        parse(text, input);
      }),
      { numRuns: RUNS },
    );
    // The generator reaches both sides: valid configs too, not only rejections.
    expect(accepted).toBeGreaterThan(0);
  });

  it('YAML-ish text: never anything but ConfigError', () => {
    const token = fc.constantFrom(
      'paths:', 'seeds:', '- name: x', '  ', '\n', ': ', '{', '}', '[', ']', ',', '&a ', '*a', '<<: *a', '!!binary ', '!!js/function ', '!!str ', '? ',
      '|', '>', '"', "'", '#', '---', '...', '%YAML 1.2', 'null', '~', '0x1F', '1e999', '.inf', 'true', '__proto__: {polluted: 1}', 'constructor:',
      'listen: 127.0.0.1:9464', 'schedule: "* * * * *"', 'probe: { from: a@b.c }', '\t', '\u0000', '\ufeff', '\r\n',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(token, fc.string({ maxLength: 6 })), { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        let top: Record<string, unknown> | null = null;
        try {
          const v = parseYaml(text, { logLevel: 'error' });
          if (v && typeof v === 'object' && !Array.isArray(v)) top = v as Record<string, unknown>;
        } catch {
          /* the loader must say why */
        }
        parse(text, top);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('one pass: a schema problem anywhere never hides a seed\'s unknown provider', () => {
    type Valid = Record<string, unknown>;
    // Schema problems in other parts, in another seed, or in the same seed.
    const breaks: [string, (c: Valid, j: number) => string | null][] = [
      ['schedule', (c) => ((c.schedule = 'never'), 'schedule: ')],
      ['path port', (c) => (((c.paths as { smtp: { port: unknown } }[])[0].smtp.port = 0), 'paths[0].smtp.port: ')],
      ['unknown top-level key', (c) => ((c.colour = 'red'), 'colour: unknown key')],
      ['another seed', (c, j) => {
        const seeds = c.seeds as { imap: { port?: unknown } }[];
        if (seeds.length < 2) return null;
        const other = (j + 1) % seeds.length;
        seeds[other].imap.port = 'x';
        return `seeds[${other}].imap.port: `;
      }],
      ['the same seed', (c, j) => (((c.seeds as { imap: { port?: unknown } }[])[j].imap.port = 70000), `seeds[${j}].imap.port: `)],
    ];
    fc.assert(
      fc.property(validConfigGen, fc.nat(), fc.integer({ min: 0, max: breaks.length - 1 }), (valid, k, b) => {
        const c = structuredClone(valid) as Valid;
        const seeds = c.seeds as { provider: string }[];
        const j = k % seeds.length;
        seeds[j].provider = 'nosuchprovider';
        const where = breaks[b][1](c, j);
        fc.pre(where !== null);
        const { config, problems } = reviewConfig(stringify(c), FILE, { presets, baseDir: '/tmp', env: { PW: 'x' } });
        expect(config).toBeNull();
        expect(problems).toContain(`${FILE}: seeds[${j}].provider: unknown provider "nosuchprovider" (known: ${[...presets.keys()].join(', ')})`);
        expect(problems.some((p) => p.startsWith(`${FILE}: ${where}`)), problems.join('\n')).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('alias bombs and deep nesting are refused as ConfigError, not a crash', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    expect(() => parseConfig(bomb, FILE, { presets })).toThrow(ConfigError);
    const deep = 'paths: ' + '['.repeat(5000) + ']'.repeat(5000);
    expect(() => parseConfig(deep, FILE, { presets })).toThrow(ConfigError);
  });
});
