/**
 * `seedwatch init`: the first configuration. Interactive (prompts on a terminal) or from flags
 * (--non-interactive, for automation); both end the same way: secrets written as files (0600)
 * under secrets/ next to the config, every seed logged into (folders discovered) and every
 * path tested through the agent's own connectivity check, a commented seedwatch.yaml, then
 * `seedwatch check` on it, whose exit code init returns.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { Document, isMap, isScalar, type YAMLMap } from 'yaml';
import { ConfigError, parseConfig } from '../config/load-config.js';
import { loadPresets, PresetError, type ProviderPreset } from '../config/preset.js';
import { EXIT_ERROR } from '../exit-codes.js';
import type { ConnectivityReport } from './check-connect.js';

export interface InitOptions {
  /** The config file to write. */
  out: string;
  force?: boolean;
  nonInteractive?: boolean;
  /** Log in, test paths and run `seedwatch check` at the end (default true; --no-check). */
  check?: boolean;
  from?: string;
  listen?: string;
  dataDir?: string;
  /** NAME=HOST[:PORT] (port 587; 465 means implicit TLS). */
  relay?: string[];
  /** NAME=USER:ENV_VAR: the relay login, its password read from ENV_VAR. */
  relayAuth?: string[];
  /** NAME[=HELO]: direct-to-MX path. */
  mx?: string[];
  /** NAME=IP: source address of a path. */
  source?: string[];
  /** NAME=PROVIDER:ADDRESS[:USER]. */
  seed?: string[];
  /** NAME=HOST:PORT[:tls|plain]: a seed's IMAP server, when not the preset's. */
  imap?: string[];
  /** NAME=ENV_VAR: a seed's IMAP password, read from ENV_VAR. */
  passwordEnv?: string[];
  /** NAME=CLIENT_ID[:TENANT]: an OAuth2 seed. */
  oauth2Client?: string[];
}

export interface InitIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

interface PathAnswer {
  name: string;
  mode: 'relay' | 'mx';
  host?: string;
  port?: number;
  /** Implicit TLS (465). */
  secure?: boolean;
  user?: string;
  password?: string;
  helo?: string;
  localAddress?: string;
}

interface ImapServer {
  host: string;
  port: number;
  secure: boolean;
}

interface SeedAnswer {
  name: string;
  provider: string;
  address: string;
  user: string;
  /** Only when it differs from the preset's. */
  server?: ImapServer;
  auth: { kind: 'password'; password?: string } | { kind: 'oauth2'; clientId: string; tenant?: string };
  spamFolder?: string;
  /** What logging in found, for the config's comments. */
  found?: string;
}

interface InitAnswers {
  out: string;
  listen: string;
  dataDir: string;
  from: string;
  paths: PathAnswer[];
  seeds: SeedAnswer[];
}

/** A wrong flag or value: printed, exit 2. */
class InitUsageError extends Error {}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ADDRESS_RE = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const SECRETS_DIR = 'secrets';
const DEFAULT_LISTEN = '127.0.0.1:9464';
const DEFAULT_DATA_DIR = './data';
const DEFAULT_RELAY_PORT = 587;
/** Submission with implicit TLS (RFC 8314): a relay on this port gets `secure: true`. */
const IMPLICIT_TLS_SMTP_PORT = 465;

const validName = (s: string) => NAME_RE.test(s) || 'letters, digits, "-", "_" or "." (it becomes a metric label value)';
const validSender = (s: string) => {
  const m = /<([^<>]+)>\s*$/.exec(s.trim());
  return ADDRESS_RE.test(m ? m[1] : s.trim()) || 'expected "Name <address@domain>" or an address';
};
const validAddress = (s: string) => ADDRESS_RE.test(s.trim()) || 'expected an e-mail address';
const validIp = (s: string) => s === '' || isIP(s) !== 0 || 'expected an IPv4 or IPv6 address (or nothing)';

/** host, host:port, [v6]:port, v6 → { host, port }. */
export function parseHostPort(s: string, defaultPort?: number): { host: string; port: number } | null {
  const t = s.trim();
  let host: string;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) [, host, port] = v6;
  else if (isIP(t) === 6) host = t;
  else {
    const i = t.lastIndexOf(':');
    host = i < 0 ? t : t.slice(0, i);
    port = i < 0 ? undefined : t.slice(i + 1);
  }
  const n = port === undefined ? defaultPort : /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!host || n === undefined || !(n >= 1 && n <= 65535)) return null;
  return { host, port: n };
}

/** NAME=VALUE of a repeatable flag. */
function splitNamed(flag: string, v: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0) throw new InitUsageError(`--${flag} ${v}: expected NAME=VALUE`);
  return [v.slice(0, i), v.slice(i + 1)];
}

function secretFile(name: string): string {
  return `${SECRETS_DIR}/${name}`;
}

// ---------------------------------------------------------------------------------------------
// From flags

function answersFromFlags(opts: InitOptions, presets: Map<string, ProviderPreset>, env: NodeJS.ProcessEnv): InitAnswers {
  if (!opts.from) throw new InitUsageError('--from is required with --non-interactive (the probes\' sender, "Name <address@domain>")');
  const sender = validSender(opts.from);
  if (sender !== true) throw new InitUsageError(`--from: ${sender}`);
  const paths = new Map<string, PathAnswer>();
  const addPath = (flag: string, p: PathAnswer) => {
    if (validName(p.name) !== true) throw new InitUsageError(`--${flag} ${p.name}: ${validName(p.name)}`);
    if (paths.has(p.name)) throw new InitUsageError(`--${flag} ${p.name}: a path with this name exists already`);
    paths.set(p.name, p);
  };
  for (const v of opts.relay ?? []) {
    const [name, target] = splitNamed('relay', v);
    const hp = parseHostPort(target, DEFAULT_RELAY_PORT);
    if (!hp) throw new InitUsageError(`--relay ${v}: expected NAME=HOST[:PORT]`);
    addPath('relay', { name, mode: 'relay', ...hp, secure: hp.port === IMPLICIT_TLS_SMTP_PORT });
  }
  for (const v of opts.mx ?? []) {
    const [name, helo] = v.includes('=') ? splitNamed('mx', v) : [v, ''];
    addPath('mx', { name, mode: 'mx', ...(helo ? { helo } : {}) });
  }
  const pathOf = (flag: string, name: string) => {
    const p = paths.get(name);
    if (!p) throw new InitUsageError(`--${flag} ${name}=…: no path named ${name} (--relay or --mx first)`);
    return p;
  };
  for (const v of opts.relayAuth ?? []) {
    const [name, rest] = splitNamed('relay-auth', v);
    const p = pathOf('relay-auth', name);
    const i = rest.lastIndexOf(':');
    if (p.mode !== 'relay' || i <= 0) throw new InitUsageError(`--relay-auth ${v}: expected NAME=USER:ENV_VAR for a --relay path`);
    p.user = rest.slice(0, i);
    p.password = fromEnv(env, rest.slice(i + 1), `--relay-auth ${name}`);
  }
  for (const v of opts.source ?? []) {
    const [name, ip] = splitNamed('source', v);
    if (validIp(ip) !== true || ip === '') throw new InitUsageError(`--source ${v}: expected NAME=IP`);
    pathOf('source', name).localAddress = ip;
  }
  if (paths.size === 0) throw new InitUsageError('at least one path: --relay NAME=HOST[:PORT] or --mx NAME[=HELO]');

  const seeds = new Map<string, SeedAnswer>();
  for (const v of opts.seed ?? []) {
    const [name, rest] = splitNamed('seed', v);
    if (validName(name) !== true) throw new InitUsageError(`--seed ${v}: ${validName(name)}`);
    if (seeds.has(name)) throw new InitUsageError(`--seed ${v}: a seed with this name exists already`);
    const [provider, address, user] = rest.split(':');
    const preset = presets.get(provider);
    if (!preset) throw new InitUsageError(`--seed ${v}: unknown provider "${provider}" (presets: ${[...presets.keys()].join(', ')})`);
    if (validAddress(address ?? '') !== true) throw new InitUsageError(`--seed ${v}: expected NAME=PROVIDER:ADDRESS[:USER]`);
    seeds.set(name, { name, provider, address, user: user || address, auth: { kind: 'password' } });
  }
  const seedOf = (flag: string, name: string) => {
    const s = seeds.get(name);
    if (!s) throw new InitUsageError(`--${flag} ${name}=…: no seed named ${name} (--seed first)`);
    return s;
  };
  for (const v of opts.imap ?? []) {
    const [name, rest] = splitNamed('imap', v);
    const m = /^(.*?)(?::(tls|plain))?$/.exec(rest)!;
    const hp = parseHostPort(m[1]);
    if (!hp) throw new InitUsageError(`--imap ${v}: expected NAME=HOST:PORT[:tls|plain]`);
    seedOf('imap', name).server = { ...hp, secure: m[2] ? m[2] === 'tls' : hp.port === 993 };
  }
  for (const v of opts.passwordEnv ?? []) {
    const [name, variable] = splitNamed('password-env', v);
    seedOf('password-env', name).auth = { kind: 'password', password: fromEnv(env, variable, `--password-env ${name}`) };
  }
  for (const v of opts.oauth2Client ?? []) {
    const [name, rest] = splitNamed('oauth2-client', v);
    const [clientId, tenant] = rest.split(':');
    if (!clientId) throw new InitUsageError(`--oauth2-client ${v}: expected NAME=CLIENT_ID[:TENANT]`);
    seedOf('oauth2-client', name).auth = { kind: 'oauth2', clientId, ...(tenant ? { tenant } : {}) };
  }
  for (const s of seeds.values()) {
    const preset = presets.get(s.provider)!;
    if (s.auth.kind === 'password' && s.auth.password === undefined) {
      throw new InitUsageError(`seed ${s.name}: --password-env ${s.name}=ENV_VAR or --oauth2-client ${s.name}=CLIENT_ID`);
    }
    if (!preset.auth.includes(s.auth.kind)) throw new InitUsageError(`seed ${s.name}: provider ${s.provider} allows ${preset.auth.join(' or ')} only`);
    if (!preset.imap.host && !s.server) throw new InitUsageError(`seed ${s.name}: provider ${s.provider} has no IMAP server; --imap ${s.name}=HOST:PORT`);
    if (s.server && preset.imap.host === s.server.host && preset.imap.port === s.server.port && preset.imap.secure === s.server.secure) delete s.server;
  }
  if (seeds.size === 0) throw new InitUsageError('at least one seed: --seed NAME=PROVIDER:ADDRESS[:USER]');
  return {
    out: opts.out,
    listen: opts.listen ?? DEFAULT_LISTEN,
    dataDir: opts.dataDir ?? DEFAULT_DATA_DIR,
    from: opts.from,
    paths: [...paths.values()],
    seeds: [...seeds.values()],
  };
}

/** Secrets come from the environment, never from the command line (ps shows it). */
function fromEnv(env: NodeJS.ProcessEnv, variable: string, what: string): string {
  const v = env[variable];
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw new InitUsageError(`${what}: "${variable}" is not an environment variable name`);
  if (v === undefined || v === '') throw new InitUsageError(`${what}: environment variable ${variable} is not set`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Interactive

type Prompts = typeof import('@inquirer/prompts');

async function askPath(p: Prompts, index: number, taken: Set<string>): Promise<PathAnswer> {
  const name = await p.input({
    message: 'Path name (a metric label, e.g. peering, transit):',
    default: index === 0 ? 'primary' : undefined,
    validate: (s) => (taken.has(s) ? 'a path with this name exists already' : validName(s)),
  });
  const mode = await p.select<'relay' | 'mx'>({
    message: `How does ${name} send?`,
    choices: [
      { name: 'through a relay (SMTP submission to your MTA)', value: 'relay' },
      { name: "directly to each seed's MX (port 25)", value: 'mx' },
    ],
  });
  const path: PathAnswer = { name, mode };
  if (mode === 'relay') {
    const target = await p.input({
      message: 'Relay host[:port]:',
      validate: (s) => parseHostPort(s, DEFAULT_RELAY_PORT) !== null || 'expected host or host:port',
    });
    Object.assign(path, parseHostPort(target, DEFAULT_RELAY_PORT));
    path.secure = await p.confirm({ message: 'Implicit TLS (port 465 style)? No: STARTTLS when offered.', default: path.port === IMPLICIT_TLS_SMTP_PORT });
    if (await p.confirm({ message: 'Does the relay need a login?', default: false })) {
      path.user = await p.input({ message: 'Relay user:', validate: (s) => s.length > 0 || 'required' });
      path.password = await p.password({ message: 'Relay password (stored in a 0600 file):', mask: '*', validate: (s) => s.length > 0 || 'required' });
    }
  } else {
    const helo = await p.input({ message: 'HELO name (should match the PTR of the source IP; empty: this machine\'s name):' });
    if (helo) path.helo = helo;
  }
  const source = await p.input({ message: 'Source IP of this path (empty: the system picks):', validate: validIp });
  if (source) path.localAddress = source;
  return path;
}

async function askServer(p: Prompts, preset: ProviderPreset, current?: ImapServer): Promise<ImapServer | undefined> {
  const presetServer = preset.imap.host ? `${preset.imap.host}:${preset.imap.port}` : undefined;
  const typed = await p.input({
    message: 'IMAP server host:port:',
    default: current ? `${current.host}:${current.port}` : presetServer,
    validate: (s) => parseHostPort(s, preset.imap.port) !== null || 'expected host:port',
  });
  const hp = parseHostPort(typed, preset.imap.port)!;
  if (presetServer && hp.host === preset.imap.host && hp.port === preset.imap.port) return undefined;
  const secure = await p.confirm({ message: 'Implicit TLS (IMAPS)? No: plain, STARTTLS when offered.', default: current?.secure ?? hp.port === 993 });
  return { ...hp, secure };
}

async function askSeed(p: Prompts, presets: Map<string, ProviderPreset>, taken: Set<string>, io: Required<InitIo>, out: string): Promise<SeedAnswer> {
  const provider = await p.select<string>({
    message: 'Provider (type to jump):',
    choices: [...presets.values()].map((x) => ({ name: `${x.name} — ${x.displayName}`, value: x.name })),
    pageSize: 12,
  });
  const preset = presets.get(provider)!;
  const address = (await p.input({ message: 'Seed address:', validate: validAddress })).trim();
  let n = 1;
  while (taken.has(`${provider}-${n}`)) n++;
  const name = await p.input({
    message: 'Seed name (a metric label; never the address):',
    default: `${provider}-${n}`,
    validate: (s) => (taken.has(s) ? 'a seed with this name exists already' : validName(s)),
  });
  const server = await askServer(p, preset);
  const user = await p.input({ message: 'IMAP login:', default: address });
  const kind =
    preset.auth.length === 1
      ? preset.auth[0]
      : await p.select<'password' | 'oauth2'>({
          message: 'Authentication:',
          choices: preset.auth.map((a) => ({ name: a === 'password' ? 'password (an app password where the provider has them)' : 'OAuth2', value: a })),
        });
  const seed: SeedAnswer = { name, provider, address, user, ...(server ? { server } : {}), auth: { kind: 'password' } };
  if (kind === 'password') {
    seed.auth = { kind: 'password', password: await p.password({ message: 'IMAP password (stored in a 0600 file):', mask: '*', validate: (s) => s.length > 0 || 'required' }) };
    return seed;
  }
  const clientId = await p.input({ message: 'OAuth2 client id registered for seedwatch:', validate: (s) => s.length > 0 || 'required' });
  const defaultTenant = preset.oauth2?.defaultTenant;
  const tenant = defaultTenant ? await p.input({ message: 'Tenant (consumers, organizations or a tenant id):', default: defaultTenant }) : '';
  seed.auth = { kind: 'oauth2', clientId, ...(tenant && tenant !== defaultTenant ? { tenant } : {}) };
  const tokenFile = join(dirname(out), secretFile(`${name}-refresh-token`));
  const command = authCommandLine(seed, tokenFile);
  if (preset.oauth2?.flow && (await p.confirm({ message: 'Sign in now to get its refresh token (seedwatch auth)?', default: true }))) {
    mkdirSync(dirname(tokenFile), { recursive: true, mode: 0o700 });
    const { authCommand } = await import('./auth.js');
    const code = await authCommand({ provider, clientId, ...(tenant ? { tenant } : {}), loginHint: address, out: tokenFile, force: true });
    if (code !== 0) io.stdout.write(`Sign-in did not complete; later run:\n  ${command}\n`);
  } else {
    io.stdout.write(`Get its refresh token later with:\n  ${command}\n`);
  }
  return seed;
}

function authCommandLine(seed: SeedAnswer, tokenFile: string): string {
  if (seed.auth.kind !== 'oauth2') return '';
  return [
    'seedwatch auth',
    `--provider ${seed.provider}`,
    `--client-id ${seed.auth.clientId}`,
    ...(seed.auth.tenant ? [`--tenant ${seed.auth.tenant}`] : []),
    `--login-hint ${seed.address}`,
    `--out ${relative(process.cwd(), tokenFile) || tokenFile}`,
  ].join(' ');
}

async function answersFromPrompts(p: Prompts, opts: InitOptions, presets: Map<string, ProviderPreset>, io: Required<InitIo>): Promise<InitAnswers> {
  io.stdout.write(
    'seedwatch init: a first configuration. Secrets go to files (mode 0600) next to the config;\n' +
      'every seed is logged into and every path tested before the file is written; then `seedwatch check` runs.\n\n',
  );
  const out = resolve(await p.input({ message: 'Config file to write:', default: opts.out }));
  if (existsSync(out) && !opts.force && !(await p.confirm({ message: `${out} exists. Overwrite it?`, default: false }))) {
    throw new InitUsageError(`${out} exists; nothing written`);
  }
  const from = await p.input({ message: 'Sender of the probes ("Name <address@domain>"):', validate: validSender });
  const listen = await p.input({
    message: 'HTTP listen address (/metrics, /healthz, status page):',
    default: opts.listen ?? DEFAULT_LISTEN,
    validate: (s) => parseHostPort(s) !== null || 'expected host:port',
  });
  io.stdout.write('\nPaths: every egress path gets one probe per seed per cycle, never a fallback to another path.\n');
  const paths: PathAnswer[] = [];
  do paths.push(await askPath(p, paths.length, new Set(paths.map((x) => x.name))));
  while (await p.confirm({ message: 'Add another path?', default: false }));
  io.stdout.write('\nSeeds: mailboxes you own at the providers, watched over IMAP.\n');
  const seeds: SeedAnswer[] = [];
  do seeds.push(await askSeed(p, presets, new Set(seeds.map((x) => x.name)), io, out));
  while (await p.confirm({ message: 'Add another seed?', default: false }));
  return { out, listen, dataDir: opts.dataDir ?? DEFAULT_DATA_DIR, from, paths, seeds };
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes every secret as a 0600 file under secrets/ (0700) next to the config. With an OAuth2
 * seed the directory is made even when no secret is written yet: the `seedwatch auth --out
 * secrets/…` that init prints writes the refresh token there and does not create directories.
 */
function writeSecrets(a: InitAnswers): void {
  const dir = join(dirname(a.out), SECRETS_DIR);
  if (a.seeds.some((s) => s.auth.kind === 'oauth2')) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, value: string) => {
    const file = join(dirname(a.out), secretFile(name));
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // an existing file keeps its mode through writeFileSync
  };
  for (const p of a.paths) if (p.password !== undefined) write(`${p.name}-smtp-password`, p.password);
  for (const s of a.seeds) if (s.auth.kind === 'password' && s.auth.password !== undefined) write(`${s.name}-imap-password`, s.auth.password);
}

function configObject(a: InitAnswers): object {
  return {
    listen: a.listen,
    dataDir: a.dataDir,
    schedule: '*/5 * * * *',
    deadline: '30m',
    probe: { from: a.from },
    paths: a.paths.map((p) => ({
      name: p.name,
      ...(p.mode === 'relay'
        ? {
            smtp: {
              host: p.host,
              port: p.port,
              ...(p.secure ? { secure: true } : {}),
              ...(p.user ? { auth: { user: p.user, pass: { file: secretFile(`${p.name}-smtp-password`) } } } : {}),
            },
          }
        : { mx: { ...(p.helo ? { helo: p.helo } : {}) } }),
      ...(p.localAddress ? { localAddress: p.localAddress } : {}),
    })),
    seeds: a.seeds.map((s) => ({
      name: s.name,
      address: s.address,
      provider: s.provider,
      imap: {
        ...(s.server ? { host: s.server.host, port: s.server.port, secure: s.server.secure } : {}),
        user: s.user,
        ...(s.auth.kind === 'password'
          ? { password: { file: secretFile(`${s.name}-imap-password`) } }
          : {
              oauth2: {
                clientId: s.auth.clientId,
                ...(s.auth.tenant ? { tenant: s.auth.tenant } : {}),
                refreshToken: { file: secretFile(`${s.name}-refresh-token`) },
              },
            }),
      },
      ...(s.spamFolder ? { folders: { spam: s.spamFolder } } : {}),
    })),
  };
}

function pairOf(map: unknown, key: string) {
  if (!isMap(map)) return undefined;
  return (map as YAMLMap).items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
}

/** The config as commented YAML (the yaml package's Document API carries the comments). */
export function renderConfig(a: InitAnswers, today = new Date()): string {
  const doc = new Document(configObject(a));
  const file = relative(process.cwd(), a.out) || a.out;
  doc.commentBefore = [
    ` seedwatch configuration, written by \`seedwatch init\` on ${today.toISOString().slice(0, 10)}.`,
    ` Check it (logs into every seed, tests every path): seedwatch check --config ${file}`,
    ` Run the agent:                                     seedwatch run --config ${file}`,
    ' Every key: README.md, "Configuration". Secrets are files under secrets/ (mode 0600);',
    ' relative paths resolve from this file\'s directory.',
  ].join('\n');
  const root = doc.contents;
  const inline: Record<string, string> = {
    listen: ' HTTP: /metrics, /healthz, /readyz, /api, the status page',
    dataDir: ' the ledger (SQLite): every probe and what became of it',
    schedule: ' one cycle = every path x every seed (cron; 6 fields = seconds first)',
    deadline: ' a probe not seen this long after the SMTP accept is "missing"',
  };
  for (const [key, comment] of Object.entries(inline)) {
    const value = pairOf(root, key)?.value;
    if (isScalar(value)) value.comment = comment;
  }
  const before: Record<string, string> = {
    probe: ' The probes: a realistic message from your sender (its domain goes into the Message-ID).',
    paths: ' Egress paths: each sends one probe per seed per cycle; never a fallback to another path.',
    seeds: ' Seed mailboxes, watched over IMAP (IDLE); provider = a preset in seed-accounts/providers.',
  };
  for (const [key, comment] of Object.entries(before)) {
    const pair = pairOf(root, key);
    if (pair && isScalar(pair.key)) {
      pair.key.commentBefore = comment;
      pair.key.spaceBefore = true;
    }
  }
  a.seeds.forEach((s, i) => {
    const node = doc.getIn(['seeds', i], true) as { commentBefore?: string } | undefined;
    if (node && s.found) node.commentBefore = ` ${s.found}`;
  });
  // Secret references on one line: { file: secrets/… }.
  for (const path of [
    ...a.seeds.map((s, i) => ['seeds', i, 'imap', s.auth.kind === 'password' ? 'password' : 'oauth2']),
    ...a.paths.map((_, i) => ['paths', i, 'smtp', 'auth']),
    ...a.paths.map((_, i) => ['paths', i, 'mx']),
  ]) {
    const node = doc.getIn(path, true) as { flow?: boolean } | undefined;
    if (node && typeof node === 'object') node.flow = true;
  }
  return doc.toString({ lineWidth: 0 });
}

function describeFolders(r: ConnectivityReport['seeds'][number]): string {
  const f = (role: 'spam' | 'trash') => (r.folders?.[role] ? `${role} "${r.folders[role]!.path}" (${r.folders[role]!.rule})` : `${role}: none found`);
  return `logged in: ${f('spam')}, ${f('trash')}`;
}

// ---------------------------------------------------------------------------------------------
// The command

export async function initCommand(opts: InitOptions, io: InitIo = {}): Promise<number> {
  const std: Required<InitIo> = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  const check = opts.check !== false;
  let prompts: Prompts | null = null;
  try {
    const presets = loadPresets();
    let answers: InitAnswers;
    if (opts.nonInteractive) {
      answers = answersFromFlags({ ...opts, out: resolve(opts.out) }, presets, std.env);
      if (existsSync(answers.out) && !opts.force) throw new InitUsageError(`${answers.out} exists; pass --force to overwrite it`);
    } else {
      if (!process.stdin.isTTY) throw new InitUsageError('no terminal to ask questions on: run it in one, or pass --non-interactive with flags (seedwatch init --help)');
      prompts = await import('@inquirer/prompts');
      answers = await answersFromPrompts(prompts, opts, presets, std);
    }
    writeSecrets(answers);

    if (check) {
      // Log into every seed and test every path with the config as it will be written.
      const { connectivityReport, printConnectivity } = await import('./check-connect.js');
      for (;;) {
        std.stdout.write('\nLogging into every seed and testing every path…\n');
        const config = parseConfig(renderConfig(answers), answers.out);
        const report = await connectivityReport(config, std.env);
        printConnectivity(report, std.stdout);
        report.seeds.forEach((r, i) => {
          if (r.ok) answers.seeds[i].found = describeFolders(r);
        });
        const failed = answers.seeds.filter((_, i) => !report.seeds[i].ok && answers.seeds[i].auth.kind === 'password');
        if (!prompts) break;
        for (const [i, s] of answers.seeds.entries()) {
          if (report.seeds[i].ok && !report.seeds[i].folders?.spam && !s.spamFolder) {
            const name = await prompts.input({ message: `${s.name}: no spam folder found. Its name on the server (empty: none):` });
            if (name) s.spamFolder = name;
          }
        }
        if (failed.length === 0) break;
        const retry = await prompts.confirm({ message: `Login failed for ${failed.map((s) => s.name).join(', ')}. Re-enter server and credentials?`, default: true });
        if (!retry) break;
        for (const s of failed) {
          std.stdout.write(`\n${s.name} (${s.address})\n`);
          const server = await askServer(prompts, presets.get(s.provider)!, s.server);
          if (server) s.server = server;
          else delete s.server;
          s.user = await prompts.input({ message: 'IMAP login:', default: s.user });
          s.auth = { kind: 'password', password: await prompts.password({ message: 'IMAP password:', mask: '*', validate: (x) => x.length > 0 || 'required' }) };
        }
        writeSecrets(answers);
      }
    }

    mkdirSync(dirname(answers.out), { recursive: true });
    writeFileSync(answers.out, renderConfig(answers));
    std.stdout.write(`\nwrote ${answers.out} (secrets in ${join(dirname(answers.out), SECRETS_DIR)}/, mode 0600)\n`);
    for (const s of answers.seeds) {
      if (s.auth.kind === 'oauth2' && !existsSync(join(dirname(answers.out), secretFile(`${s.name}-refresh-token`)))) {
        std.stdout.write(`${s.name}: get its refresh token with\n  ${authCommandLine(s, join(dirname(answers.out), secretFile(`${s.name}-refresh-token`)))}\n`);
      }
    }
    if (!check) return 0;
    std.stdout.write(`\nseedwatch check --config ${relative(process.cwd(), answers.out) || answers.out}\n`);
    const { checkCommand } = await import('./check.js');
    return await checkCommand({ config: answers.out, connect: true }, { stdout: std.stdout, stderr: std.stderr, env: std.env });
  } catch (err) {
    if (err instanceof InitUsageError || err instanceof PresetError) {
      std.stderr.write(`seedwatch init: ${err.message}\n`);
      return EXIT_ERROR;
    }
    if (err instanceof ConfigError) {
      std.stderr.write(`seedwatch init: the answers do not make a valid config:\n${err.message}\n`);
      return EXIT_ERROR;
    }
    if ((err as Error).name === 'ExitPromptError') {
      std.stderr.write('\nseedwatch init: cancelled; no config written\n');
      return EXIT_ERROR;
    }
    throw err;
  }
}
