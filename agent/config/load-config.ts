import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { formatPath, formatZodIssues } from './format-issues.js';
import { loadPresets, type ProviderPreset } from './preset.js';
import { ConfigSchema, type PathConfig, type RawConfig, type SeedConfigRaw } from './schema.js';
import { describeSecret, resolveSecret, SecretError, type SecretRef, type SecretValue } from './secret.js';
import { parseDuration } from './duration.js';

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

export interface Config extends Omit<RawConfig, 'seeds'> {
  /** The file as given by the user (used in messages). */
  file: string;
  /** Directory of the config file: relative paths (dataDir, secret files) resolve from here. */
  baseDir: string;
  /** dataDir, absolute. */
  dataDirAbs: string;
  seeds: SeedConfig[];
  /** Non-fatal findings, e.g. literal secrets. */
  warnings: string[];
}
export type { PathConfig };

export interface LoadOptions {
  presets?: Map<string, ProviderPreset>;
}

/** Load, validate and resolve presets. Secrets are not read here (see resolveConfigSecrets). */
export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  return parseConfig(text, file, { ...opts, baseDir: dirname(resolve(file)) });
}

export function parseConfig(text: string, file: string, opts: LoadOptions & { baseDir?: string } = {}): Config {
  // logLevel 'error': the yaml package would otherwise print warnings (e.g. unknown tags) on
  // stderr itself; they are turned into config problems below.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0 || doc.warnings.length > 0) {
    throw new ConfigError(
      [...doc.errors, ...doc.warnings].map((e) => {
        const pos = e.linePos?.[0];
        return `${file}:${pos ? `${pos.line}:${pos.col}` : ''} YAML syntax error: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  let raw: unknown;
  try {
    // Throws on documents built to exhaust memory (alias bombs: "Excessive alias count").
    raw = doc.toJS() ?? {};
  } catch (err) {
    throw new ConfigError([`${file}: (top level): the YAML document cannot be read: ${(err as Error).message}`]);
  }
  const tagged: string[] = [];
  // Only inside a mapping: any other top level is the schema's "expected a mapping".
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) findTaggedValues(raw, [], tagged);
  if (tagged.length > 0) {
    throw new ConfigError(tagged.map((p) => `${file}: ${p}: expected plain YAML (a mapping, list, string, number or boolean), got a tagged value such as !!binary`));
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatZodIssues(file, parsed.error.issues, raw));
  const presets = opts.presets ?? loadPresets();
  const baseDir = opts.baseDir ?? process.cwd();
  const problems: string[] = [];
  const warnings: string[] = [];
  const seeds: SeedConfig[] = [];
  parsed.data.seeds.forEach((s, i) => {
    const seed = resolveSeed(s, i, presets, file, problems, parsed.data.watch.cleanup);
    if (seed) seeds.push(seed);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  const cfg: Config = {
    ...parsed.data,
    file,
    baseDir,
    dataDirAbs: resolve(baseDir, parsed.data.dataDir),
    seeds,
    warnings,
  };
  for (const { path, ref } of collectSecrets(cfg)) {
    if ('literal' in ref) {
      warnings.push(`${file}: ${path}: literal secret in the config file; prefer { env: NAME } or { file: PATH }`);
    }
  }
  return cfg;
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

function resolveSeed(
  s: SeedConfigRaw,
  i: number,
  presets: Map<string, ProviderPreset>,
  file: string,
  problems: string[],
  defaultCleanup: SeedConfig['cleanup'],
): SeedConfig | null {
  const preset = presets.get(s.provider);
  if (!preset) {
    problems.push(`${file}: seeds[${i}].provider: unknown provider "${s.provider}" (known: ${[...presets.keys()].join(', ')})`);
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
    idleRefreshMs: parseDuration(preset.idleRefresh) ?? 9 * 60_000,
    trust: { authservIds: s.authservIds ?? preset.authservIds, receivedHosts: preset.receivedHosts },
  };
}

/** Every secret reference in the config with its field path. */
export function collectSecrets(cfg: Config): { path: string; ref: SecretRef }[] {
  const out: { path: string; ref: SecretRef }[] = [];
  if (cfg.probe.dkim) out.push({ path: 'probe.dkim.privateKey', ref: cfg.probe.dkim.privateKey });
  if (cfg.http.token) out.push({ path: 'http.token', ref: cfg.http.token });
  if (cfg.report?.email.smtp.auth?.pass) out.push({ path: 'report.email.smtp.auth.pass', ref: cfg.report.email.smtp.auth.pass });
  cfg.paths.forEach((p, i) => {
    if (p.smtp?.auth?.pass) out.push({ path: `paths[${i}].smtp.auth.pass`, ref: p.smtp.auth.pass });
    if (p.smtp?.auth?.oauth2) {
      out.push({ path: `paths[${i}].smtp.auth.oauth2.refreshToken`, ref: p.smtp.auth.oauth2.refreshToken });
      if (p.smtp.auth.oauth2.clientSecret)
        out.push({ path: `paths[${i}].smtp.auth.oauth2.clientSecret`, ref: p.smtp.auth.oauth2.clientSecret });
    }
  });
  cfg.seeds.forEach((s, i) => {
    const a = s.imap.auth;
    if (a.kind === 'password') out.push({ path: `seeds[${i}].imap.password`, ref: a.password });
    else {
      out.push({ path: `seeds[${i}].imap.oauth2.refreshToken`, ref: a.refreshToken });
      if (a.clientSecret) out.push({ path: `seeds[${i}].imap.oauth2.clientSecret`, ref: a.clientSecret });
    }
  });
  return out;
}

export type SecretResolver = (ref: SecretRef, fieldPath: string) => SecretValue;

/** A resolver bound to an environment and the config's directory. */
export function secretResolver(cfg: Config, env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return (ref, fieldPath) => resolveSecret(ref, fieldPath, { env, baseDir: cfg.baseDir });
}

/** Resolve every secret once; problems name the field and the variable or file, never a value. */
export function checkSecrets(cfg: Config, env: NodeJS.ProcessEnv = process.env): { path: string; source: string; error?: string }[] {
  const resolveOne = secretResolver(cfg, env);
  return collectSecrets(cfg).map(({ path, ref }) => {
    try {
      resolveOne(ref, path);
      return { path, source: describeSecret(ref) };
    } catch (err) {
      const msg = err instanceof SecretError ? err.message : String(err);
      return { path, source: describeSecret(ref), error: `${cfg.file}: ${msg}` };
    }
  });
}
