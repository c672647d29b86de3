import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatPath, formatZodIssues } from './format-issues.js';
import { loadPresets, type ProviderPreset } from './preset.js';
import { relayPresetFor } from './relay-preset.js';
import { ConfigSchema, NAME_PATTERN, PathSchema, SeedSchema, type PathConfig as RawPathConfig, type RawConfig, type SeedConfigRaw } from './schema.js';
import { describeSecret, resolveSecret, SecretError, type SecretRef, type SecretValue } from './secret.js';
import { parseDuration } from './duration.js';
import { canonicalIp } from '../analyze/ingress-ip.js';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface ImapSettings {
  host: string;
  port: number;
  secure: boolean;
  tls: { rejectUnauthorized: boolean; servername?: string };
  user: string;
  auth:
    | { kind: 'password'; password: SecretRef; fieldPath: string }
    | {
        kind: 'oauth2';
        clientId: string;
        clientSecret?: SecretRef;
        tenant?: string;
        refreshToken: SecretRef;
        tokenUrl?: string;
        fieldPath: string;
      };
}

export interface SeedConfig {
  name: string;
  address: string;
  provider: string;
  preset: ProviderPreset;
  imap: ImapSettings;
  folders: { spam?: string; trash?: string };
  cleanup: 'keep' | 'delete' | 'trash';
  /** Re-issue IDLE before this, in ms (from the preset). */
  idleRefreshMs: number;
  /** Whose Authentication-Results to believe (RFC 8601 §5): seed override, else preset. */
  trust: { authservIds: string[]; receivedHosts: string[] };
}

/** A probe path as configured, with the provider preset its relay host belongs to (if any). */
export type PathConfig = Omit<RawPathConfig, 'ips'> & {
  /** The egress IPs (canonical): `ips` as configured, else the path's localAddress (or mx.localAddress), else none. */
  ips: string[];
  /** The preset whose oauth2.relay.hosts match smtp.host: token endpoint and scope of smtp.auth.oauth2. */
  relayPreset?: ProviderPreset;
};

/**
 * watch.arrivalGrace when the config sets none: a tenth of the deadline, at least 1 s (the
 * stamps' resolution) and at most a minute (the default 30m deadline gets the minute).
 */
export function defaultArrivalGrace(deadlineMs: number): number {
  return Math.max(1_000, Math.min(60_000, Math.round(deadlineMs / 10)));
}

export interface Config extends Omit<RawConfig, 'seeds' | 'paths' | 'agent' | 'watch'> {
  /** watch, with arrivalGrace resolved. */
  watch: RawConfig['watch'] & { arrivalGrace: number };
  /** This agent: `agent.name` as configured, else the hostname. */
  agent: { name: string };
  /** The file as given by the user (used in messages). */
  file: string;
  /** Directory of the config file: relative paths (dataDir, secret files) resolve from here. */
  baseDir: string;
  /** dataDir, absolute. */
  dataDirAbs: string;
  paths: PathConfig[];
  seeds: SeedConfig[];
  /** Non-fatal findings, e.g. literal secrets. */
  warnings: string[];
}

export interface LoadOptions {
  presets?: Map<string, ProviderPreset>;
  /** The default of `agent.name` (default: os.hostname()). */
  hostname?: string;
}

/** Load, validate and resolve presets. Secrets are not read here (see checkSecrets, reviewConfigFile). */
export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  const text = readConfigText(file);
  if (typeof text !== 'string') throw new ConfigError([text.problem]);
  return parseConfig(text, file, { ...opts, baseDir: dirname(resolve(file)) });
}

function readConfigText(file: string): string | { problem: string } {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return { problem: `${file}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
}

export function parseConfig(text: string, file: string, opts: LoadOptions & { baseDir?: string } = {}): Config {
  const review = reviewParsed(readDocument(text, file), file, opts);
  if (!review.config) throw new ConfigError(review.problems);
  return review.config;
}

/** What one pass over a config finds. */
export interface ConfigReview {
  /** The resolved config; null when there is any problem below. */
  config: Config | null;
  /** Schema problems, then provider problems (every seed whose own fields hold is checked). */
  problems: string[];
  /** Every secret of every part whose schema holds, resolved once (never a value). */
  secrets: SecretCheck[];
}

export interface SecretCheck {
  path: string;
  source: string;
  /** `FILE: field: why`, naming the variable or file, never a value. */
  error?: string;
}

/**
 * `seedwatch check` in one pass: schema, provider and secret problems together, as far as the
 * schema problems allow (an unknown provider on one seed and a bad port on another are both
 * reported; a YAML syntax error stops everything).
 */
export function reviewConfigFile(file: string, opts: LoadOptions & { env?: NodeJS.ProcessEnv } = {}): ConfigReview {
  const text = readConfigText(file);
  if (typeof text !== 'string') return { config: null, problems: [text.problem], secrets: [] };
  return reviewConfig(text, file, { ...opts, baseDir: dirname(resolve(file)) });
}

export function reviewConfig(
  text: string,
  file: string,
  opts: LoadOptions & { baseDir?: string; env?: NodeJS.ProcessEnv } = {},
): ConfigReview {
  const review = reviewParsed(readDocument(text, file), file, opts);
  const baseDir = opts.baseDir ?? process.cwd();
  const { secretRefs, ...rest } = review;
  return { ...rest, secrets: checkSecretRefs(secretRefs(), file, baseDir, opts.env ?? process.env) };
}

/** The document as plain data, or why it cannot be read at all (nothing else can be checked then). */
function readDocument(text: string, file: string): { raw: unknown } | { problems: string[] } {
  // logLevel 'error': the yaml package would otherwise print warnings (e.g. unknown tags) on
  // stderr itself; they are turned into config problems below.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0 || doc.warnings.length > 0) {
    return {
      problems: [...doc.errors, ...doc.warnings].map((e) => {
        const pos = e.linePos?.[0];
        return `${file}:${pos ? `${pos.line}:${pos.col}` : ''} YAML syntax error: ${e.message.split('\n')[0]}`;
      }),
    };
  }
  let raw: unknown;
  try {
    // Throws on documents built to exhaust memory (alias bombs: "Excessive alias count").
    raw = doc.toJS() ?? {};
  } catch (err) {
    return { problems: [`${file}: (top level): the YAML document cannot be read: ${(err as Error).message}`] };
  }
  const tagged: string[] = [];
  // Only inside a mapping: any other top level is the schema's "expected a mapping".
  if (isMapping(raw)) findTaggedValues(raw, [], tagged);
  if (tagged.length > 0) {
    return { problems: tagged.map((p) => `${file}: ${p}: expected plain YAML (a mapping, list, string, number or boolean), got a tagged value such as !!binary`) };
  }
  return { raw };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The parts of a config that hold secrets, each present only when its own schema holds. */
interface SecretParts {
  ledger?: RawConfig['ledger'];
  probe?: RawConfig['probe'];
  http?: RawConfig['http'];
  report?: RawConfig['report'];
  reputation?: RawConfig['reputation'];
  paths: [number, RawPathConfig][];
  seeds: [number, Pick<SeedConfigRaw['imap'], 'password' | 'oauth2'>][];
}

/** `schema` on `v`, or undefined when it does not hold (absent parts are not parsed at all). */
function holds<T>(schema: { safeParse: (v: unknown) => { success: boolean; data?: T } }, v: unknown): T | undefined {
  if (v === undefined) return undefined;
  const r = schema.safeParse(v);
  return r.success ? r.data : undefined;
}

/** The entries of a list whose own schema holds, with their index. */
function entriesThatHold<T>(list: unknown, schema: { safeParse: (v: unknown) => { success: boolean; data?: T } }): [number, T][] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((v, i): [number, T][] => {
    const d = isMapping(v) ? holds(schema, v) : undefined;
    return d === undefined ? [] : [[i, d]];
  });
}

/** Secret-holding parts of a config that failed the schema as a whole, each parsed on its own. */
function partsThatHold(raw: unknown, seeds: [number, SeedConfigRaw][]): SecretParts {
  const top = isMapping(raw) ? raw : {};
  const shape = ConfigSchema.shape;
  return {
    ledger: holds(shape.ledger, top.ledger),
    probe: holds(shape.probe, top.probe),
    http: holds(shape.http, top.http),
    report: holds(shape.report, top.report),
    reputation: holds(shape.reputation, top.reputation),
    paths: entriesThatHold<RawPathConfig>(top.paths, PathSchema),
    seeds: seeds.map(([i, s]) => [i, s.imap]),
  };
}

function reviewParsed(
  doc: { raw: unknown } | { problems: string[] },
  file: string,
  opts: LoadOptions & { baseDir?: string },
): Omit<ConfigReview, 'secrets'> & { secretRefs: () => SecretField[] } {
  if ('problems' in doc) return { config: null, problems: doc.problems, secretRefs: () => [] };
  const { raw } = doc;
  const parsed = ConfigSchema.safeParse(raw);
  const problems = parsed.success ? [] : formatZodIssues(file, parsed.error.issues, raw);
  const presets = opts.presets ?? loadPresets();
  const rawSeeds: unknown[] = isMapping(raw) && Array.isArray(raw.seeds) ? raw.seeds : [];
  const validSeeds = parsed.success ? parsed.data.seeds.map((s, i): [number, SeedConfigRaw] => [i, s]) : entriesThatHold<SeedConfigRaw>(rawSeeds, SeedSchema);
  // Only `check` needs them, and only then are the other parts parsed on their own.
  const secretRefs = () =>
    parsed.success
      ? secretRefsOf({ ...parsed.data, paths: parsed.data.paths.map((p, i): [number, RawPathConfig] => [i, p]), seeds: validSeeds.map(([i, s]) => [i, s.imap]) })
      : secretRefsOf(partsThatHold(raw, validSeeds));
  const cleanup = parsed.success ? parsed.data.watch.cleanup : 'trash';
  // Provider checks on every seed whose own fields hold, even when another part is invalid.
  const seeds: SeedConfig[] = [];
  const bySeed = new Map(validSeeds);
  rawSeeds.forEach((rs, i) => {
    const s = bySeed.get(i);
    if (s) {
      const seed = resolveSeed(s, i, presets, file, problems, cleanup);
      if (seed) seeds.push(seed);
    } else if (isMapping(rs) && typeof rs.provider === 'string' && !presets.has(rs.provider)) {
      // The name alone is enough to know the provider is unknown.
      problems.push(unknownProvider(file, i, rs.provider, presets));
    }
  });
  const agentName = parsed.success ? (parsed.data.agent.name ?? defaultAgentName(opts.hostname ?? hostname(), file, problems)) : null;
  if (!parsed.success || agentName === null || problems.length > 0) return { config: null, problems, secretRefs };
  const baseDir = opts.baseDir ?? process.cwd();
  const paths = parsed.data.paths.map((p): PathConfig => {
    const relayPreset = p.smtp ? relayPresetFor(p.smtp.host, presets) : undefined;
    const local = p.localAddress ?? p.mx?.localAddress;
    const ips = p.ips ?? (local !== undefined ? [canonicalIp(local) ?? local] : []);
    return relayPreset ? { ...p, ips, relayPreset } : { ...p, ips };
  });
  const watch = { ...parsed.data.watch, arrivalGrace: parsed.data.watch.arrivalGrace ?? defaultArrivalGrace(parsed.data.deadline) };
  const cfg: Config = {
    ...parsed.data,
    watch,
    agent: { name: agentName },
    file,
    baseDir,
    dataDirAbs: resolve(baseDir, parsed.data.dataDir),
    paths,
    seeds,
    warnings: [],
  };
  for (const { path, ref } of secretRefs()) {
    if ('literal' in ref) {
      cfg.warnings.push(`${file}: ${path}: literal secret in the config file; prefer { env: NAME } or { file: PATH }`);
    }
  }
  return { config: cfg, problems: [], secretRefs };
}

/**
 * YAML tags (e.g. !!binary → Uint8Array) produce objects that are not plain data; the schema
 * would list their methods as unknown keys. Collect their paths instead.
 */
function findTaggedValues(v: unknown, path: (string | number)[], out: string[]): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => findTaggedValues(x, [...path, i], out));
    return;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    out.push(formatPath(path));
    return;
  }
  for (const [k, x] of Object.entries(v)) findTaggedValues(x, [...path, k], out);
}

/** The hostname as the agent's name, when it is a valid one (it becomes a label value). */
function defaultAgentName(host: string, file: string, problems: string[]): string | null {
  if (NAME_PATTERN.test(host)) return host;
  problems.push(
    `${file}: agent.name: not set, and the hostname ${JSON.stringify(host)} cannot be an agent name (letters, digits, "-", "_" or ".", at most 63): set agent.name`,
  );
  return null;
}

function unknownProvider(file: string, i: number, name: string, presets: ReadonlyMap<string, ProviderPreset>): string {
  // JSON quoting: the name is the user's text, shown on one line whatever it holds.
  return `${file}: seeds[${i}].provider: unknown provider ${JSON.stringify(name)} (known: ${[...presets.keys()].join(', ')})`;
}

function resolveSeed(
  s: SeedConfigRaw,
  i: number,
  presets: ReadonlyMap<string, ProviderPreset>,
  file: string,
  problems: string[],
  defaultCleanup: SeedConfig['cleanup'],
): SeedConfig | null {
  const preset = presets.get(s.provider);
  if (!preset) {
    problems.push(unknownProvider(file, i, s.provider, presets));
    return null;
  }
  const host = s.imap.host ?? preset.imap.host;
  if (!host) {
    problems.push(`${file}: seeds[${i}].imap.host: required for provider "${preset.name}" (the preset has no IMAP host)`);
    return null;
  }
  const authKind = s.imap.password ? 'password' : 'oauth2';
  if (!preset.auth.includes(authKind)) {
    problems.push(
      `${file}: seeds[${i}].imap.${authKind}: provider "${preset.name}" does not accept ${authKind} login (use ${preset.auth.join(' or ')})`,
    );
    return null;
  }
  const base = `seeds[${i}].imap`;
  const auth: ImapSettings['auth'] = s.imap.password
    ? { kind: 'password', password: s.imap.password, fieldPath: `${base}.password` }
    : {
        kind: 'oauth2',
        clientId: s.imap.oauth2!.clientId,
        clientSecret: s.imap.oauth2!.clientSecret,
        tenant: s.imap.oauth2!.tenant,
        refreshToken: s.imap.oauth2!.refreshToken,
        tokenUrl: s.imap.oauth2!.tokenUrl,
        fieldPath: `${base}.oauth2`,
      };
  return {
    name: s.name,
    address: s.address,
    provider: s.provider,
    preset,
    imap: {
      host,
      port: s.imap.port ?? preset.imap.port,
      secure: s.imap.secure ?? preset.imap.secure,
      tls: s.imap.tls ?? { rejectUnauthorized: true },
      user: s.imap.user,
      auth,
    },
    folders: s.folders ?? {},
    cleanup: s.cleanup ?? defaultCleanup,
    // The preset schema only accepts a positive duration here.
    idleRefreshMs: parseDuration(preset.idleRefresh)!,
    trust: { authservIds: s.authservIds ?? preset.authservIds, receivedHosts: preset.receivedHosts },
  };
}

export interface SecretField {
  path: string;
  ref: SecretRef;
}

/** Every secret reference in the config with its field path. */
export function collectSecrets(cfg: Config): SecretField[] {
  return secretRefsOf({
    ...cfg,
    paths: cfg.paths.map((p, i): [number, RawPathConfig] => [i, p]),
    seeds: cfg.seeds.map((s, i): [number, SecretParts['seeds'][number][1]] => {
      const a = s.imap.auth;
      return [i, a.kind === 'password' ? { password: a.password } : { oauth2: { clientId: a.clientId, clientSecret: a.clientSecret, refreshToken: a.refreshToken } }];
    }),
  });
}

/** Secret references of the parts given, in config order, with their field paths. */
function secretRefsOf(parts: SecretParts): SecretField[] {
  const out: SecretField[] = [];
  if (parts.ledger?.postgres) out.push({ path: 'ledger.postgres.url', ref: parts.ledger.postgres.url });
  if (parts.probe?.dkim) out.push({ path: 'probe.dkim.privateKey', ref: parts.probe.dkim.privateKey });
  if (parts.http?.token) out.push({ path: 'http.token', ref: parts.http.token });
  if (parts.report?.email.smtp.auth?.pass) out.push({ path: 'report.email.smtp.auth.pass', ref: parts.report.email.smtp.auth.pass });
  if (parts.reputation?.snds) out.push({ path: 'reputation.snds.key', ref: parts.reputation.snds.key });
  if (parts.reputation?.postmaster) {
    out.push({ path: 'reputation.postmaster.oauth2.refreshToken', ref: parts.reputation.postmaster.oauth2.refreshToken });
    if (parts.reputation.postmaster.oauth2.clientSecret)
      out.push({ path: 'reputation.postmaster.oauth2.clientSecret', ref: parts.reputation.postmaster.oauth2.clientSecret });
  }
  for (const [i, p] of parts.paths) {
    if (p.smtp?.auth?.pass) out.push({ path: `paths[${i}].smtp.auth.pass`, ref: p.smtp.auth.pass });
    if (p.smtp?.auth?.oauth2) {
      out.push({ path: `paths[${i}].smtp.auth.oauth2.refreshToken`, ref: p.smtp.auth.oauth2.refreshToken });
      if (p.smtp.auth.oauth2.clientSecret)
        out.push({ path: `paths[${i}].smtp.auth.oauth2.clientSecret`, ref: p.smtp.auth.oauth2.clientSecret });
    }
  }
  for (const [i, imap] of parts.seeds) {
    if (imap.password) out.push({ path: `seeds[${i}].imap.password`, ref: imap.password });
    else if (imap.oauth2) {
      out.push({ path: `seeds[${i}].imap.oauth2.refreshToken`, ref: imap.oauth2.refreshToken });
      if (imap.oauth2.clientSecret) out.push({ path: `seeds[${i}].imap.oauth2.clientSecret`, ref: imap.oauth2.clientSecret });
    }
  }
  return out;
}

export type SecretResolver = (ref: SecretRef, fieldPath: string) => SecretValue;

/** A resolver bound to an environment and the config's directory. */
export function secretResolver(cfg: Config, env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return (ref, fieldPath) => resolveSecret(ref, fieldPath, { env, baseDir: cfg.baseDir });
}

/** Resolve every secret once; problems name the field and the variable or file, never a value. */
export function checkSecrets(cfg: Config, env: NodeJS.ProcessEnv = process.env): SecretCheck[] {
  return checkSecretRefs(collectSecrets(cfg), cfg.file, cfg.baseDir, env);
}

function checkSecretRefs(refs: SecretField[], file: string, baseDir: string, env: NodeJS.ProcessEnv): SecretCheck[] {
  return refs.map(({ path, ref }) => {
    try {
      resolveSecret(ref, path, { env, baseDir });
      return { path, source: describeSecret(ref) };
    } catch (err) {
      const msg = err instanceof SecretError ? err.message : String(err);
      return { path, source: describeSecret(ref), error: `${file}: ${msg}` };
    }
  });
}
