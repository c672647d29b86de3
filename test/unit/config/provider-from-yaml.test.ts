/**
 * "Providers are data": a provider nobody wrote code for, added as one YAML file in a presets
 * directory (a copy of the shipped one plus the new file), works everywhere a shipped one
 * does — config loading and `check`, the trust settings of its Authentication-Results, the
 * OAuth2 token endpoints of its seeds and relays, and `seedwatch auth`'s sign-in flow, which
 * runs against a loopback stand-in whose URLs are written only in the YAML.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeMessage } from '../../../agent/analyze/analyze-message.js';
import { pathOAuth2Credentials, seedOAuth2Credentials } from '../../../agent/auth/oauth2-credentials.js';
import { authCommand } from '../../../agent/cli/auth.js';
import { checkCommand } from '../../../agent/cli/check.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { defaultPresetDir, loadPresets, PresetError, type ProviderPreset } from '../../../agent/config/preset.js';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

async function until<T>(fn: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A mail provider with a device-code sign-in, a tenant in its URLs, an SMTP relay and id-less Authentication-Results. */
const acmeYaml = (url: string) => `
name: acme
displayName: Acme Mail
domains: [acme.test]
imap: { host: imap.acme.test, port: 9993, secure: true }
auth: [oauth2]
folders:
  spam: { specialUse: '\\Junk', names: [Quarantine] }
  trash: { specialUse: '\\Trash', names: [Bin] }
connectionBudget: 3
idleRefresh: 20m
authservIds: ['mx*.acme.test']
receivedHosts: ['*.in.acme.test']
oauth2:
  tokenUrl: '${url}/token?tenant={tenant}'
  scope: 'imap.full offline'
  defaultTenant: people
  flow: device-code
  deviceCodeUrl: '${url}/devicecode?tenant={tenant}'
  relay: { hosts: ['smtp.acme.test'], scope: 'smtp.send offline' }
`;

/** One with a browser (loopback) sign-in and its own authorization parameters. */
const globexYaml = (url: string) => `
name: globex
displayName: Globex Mail
imap: { host: imap.globex.test }
auth: [password, oauth2]
folders:
  spam: { names: [Junk] }
  trash: { names: [Trash] }
authservIds: [mx.globex.test]
oauth2:
  tokenUrl: '${url}/token'
  scope: 'mail'
  flow: loopback
  authorizeUrl: '${url}/authorize'
  authorizeParams: { offline: 'yes' }
`;

/** One whose seeds can refresh tokens but that offers no sign-in flow to \`seedwatch auth\`. */
const initechYaml = `
name: initech
displayName: Initech Mail
imap: { host: imap.initech.test }
auth: [oauth2]
folders:
  spam: { names: [Junk] }
  trash: { names: [Trash] }
oauth2: { tokenUrl: 'https://login.initech.test/token', scope: 'mail' }
`;

const SHIPPED = [...loadPresets().keys()];

describe('a provider added as one YAML file', () => {
  let os: OAuthServer;
  let dir: string;
  let presetDir: string;
  let presets: Map<string, ProviderPreset>;

  beforeAll(async () => {
    os = await startOAuthServer({ accounts: [{ user: 'seed@acme.test', refreshToken: 'unused' }], clientId: 'sw-client', devicePendingPolls: 0 });
    dir = mkdtempSync(join(tmpdir(), 'seedwatch-provider-yaml-'));
    presetDir = join(dir, 'providers');
    cpSync(defaultPresetDir(), presetDir, { recursive: true });
    writeFileSync(join(presetDir, 'acme.yaml'), acmeYaml(os.url));
    writeFileSync(join(presetDir, 'globex.yaml'), globexYaml(os.url));
    writeFileSync(join(presetDir, 'initech.yaml'), initechYaml);
    presets = loadPresets(presetDir);
  });
  afterAll(async () => {
    await os?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const configText = `
probe: { from: "Probe <probe@mail.example.com>" }
paths:
  - name: acme-relay
    smtp: { host: smtp.acme.test, auth: { user: sender@acme.test, oauth2: { clientId: sw-client, refreshToken: { env: SW_RELAY_RT } } } }
seeds:
  - name: acme-1
    address: seed@acme.test
    provider: acme
    imap: { user: seed@acme.test, oauth2: { clientId: sw-client, refreshToken: { env: SW_ACME_RT } } }
  - name: acme-corp
    address: seed@corp.acme.test
    provider: acme
    authservIds: [mx.corp.acme.test]
    imap: { user: seed@corp.acme.test, oauth2: { clientId: sw-client, tenant: corp, refreshToken: { env: SW_ACME_RT } } }
`;

  it('loads next to the shipped presets', () => {
    expect([...presets.keys()].sort()).toEqual([...SHIPPED, 'acme', 'globex', 'initech'].sort());
  });

  it('config loading resolves IMAP, folders, session budget, IDLE refresh and trust from the YAML', () => {
    const cfg = parseConfig(configText, 'acme.yaml', { presets, baseDir: dir });
    const [seed, corp] = cfg.seeds;
    expect(seed.imap).toMatchObject({ host: 'imap.acme.test', port: 9993, secure: true, auth: { kind: 'oauth2' } });
    expect(seed.preset.folders.spam).toEqual({ specialUse: '\\Junk', names: ['Quarantine'] });
    expect(seed.preset.connectionBudget).toBe(3);
    expect(seed.idleRefreshMs).toBe(20 * 60_000);
    expect(seed.trust).toEqual({ authservIds: ['mx*.acme.test'], receivedHosts: ['*.in.acme.test'] });
    // A seed's own authserv-ids replace the preset's; the provider's hops stay the preset's.
    expect(corp.trust).toEqual({ authservIds: ['mx.corp.acme.test'], receivedHosts: ['*.in.acme.test'] });
    // Unknown to the shipped presets: the same config is refused without the new file.
    expect(() => parseConfig(configText, 'acme.yaml', { baseDir: dir })).toThrow(/seeds\[0\]\.provider: unknown provider "acme"/);
  });

  it("its Authentication-Results are trusted by its authserv-id, or by position above its own ingress hop", () => {
    const seed = parseConfig(configText, 'acme.yaml', { presets, baseDir: dir }).seeds[0];
    const opts = { trustedAuthservIds: seed.trust.authservIds, providerReceivedHosts: seed.trust.receivedHosts };
    const msg = (...lines: string[]) => [...lines, 'Subject: x', '', ''].join('\r\n');
    const ingress = 'Received: from mail.sender.test (192.0.2.1) by edge1.in.acme.test with ESMTPS; Mon, 1 Dec 2025 10:00:00 +0000';
    const internal = 'Received: from edge1.in.acme.test by store7.in.acme.test with LMTP; Mon, 1 Dec 2025 10:00:01 +0000';
    // By authserv-id (the preset's glob mx*.acme.test):
    const byId = analyzeMessage(msg(internal, 'Authentication-Results: mx2.acme.test; spf=pass smtp.mailfrom=sender.test; dkim=pass header.d=sender.test', ingress), opts).auth;
    expect(byId).toMatchObject({ found: true, unparsed: false, authservId: 'mx2.acme.test', trust: 'authserv-id', spf: 'pass', dkim: 'pass' });
    // Without authserv-id, above the ingress hop (the preset's receivedHosts): the provider wrote it.
    const idless = analyzeMessage(msg(internal, 'Authentication-Results: spf=fail smtp.mailfrom=sender.test; dmarc=fail header.from=sender.test', ingress), opts).auth;
    expect(idless).toMatchObject({ found: true, unparsed: false, authservId: null, trust: 'ingress-position', spf: 'fail', dmarc: 'fail' });
    // The same header below the ingress hop came with the message (the sender could forge it).
    const forged = analyzeMessage(msg(internal, ingress, 'Authentication-Results: mx1.acme.test; spf=pass smtp.mailfrom=sender.test; dmarc=pass'), opts).auth;
    expect(forged.found).toBe(false);
  });

  it('seeds and relays get their OAuth2 token endpoint, tenant and scope from the YAML', () => {
    const cfg = parseConfig(configText, 'acme.yaml', { presets, baseDir: dir });
    expect(seedOAuth2Credentials(cfg.seeds[0])).toMatchObject({ tokenUrl: `${os.url}/token?tenant=people`, scope: 'imap.full offline' });
    expect(seedOAuth2Credentials(cfg.seeds[1]).tokenUrl).toBe(`${os.url}/token?tenant=corp`);
    expect(cfg.paths[0].relayPreset?.name).toBe('acme');
    expect(pathOAuth2Credentials(cfg.paths[0], 0)).toMatchObject({ tokenUrl: `${os.url}/token?tenant=people`, scope: 'smtp.send offline' });
  });

  it('seedwatch check prints its plan', async () => {
    const file = join(dir, 'seedwatch.yaml');
    writeFileSync(file, configText);
    const out = capture();
    const err = capture();
    const code = await checkCommand({ config: file, connect: false }, { stdout: out.stream, stderr: err.stream, env: { SW_ACME_RT: 'rt-1', SW_RELAY_RT: 'rt-2' }, presets });
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    expect(out.text()).toMatch(/^acme-1\s+acme\s+imap\.acme\.test:9993 TLS\s+oauth2\s+\\Junk \| Quarantine\s+-\s+3$/m);
  });

  it('seedwatch auth runs the device-code flow at the URLs of the YAML (tenant filled in), no endpoint flags', async () => {
    const out = capture();
    const err = capture();
    const file = join(dir, 'acme.token');
    const before = os.requests.length;
    const code = await authCommand({ provider: 'acme', clientId: 'sw-client', out: file, loginHint: 'seed@acme.test' }, { stdout: out.stream, stderr: err.stream, presets });
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    const reqs = os.requests.slice(before);
    expect(reqs[0]).toMatchObject({ method: 'POST', path: '/devicecode', query: { tenant: 'people' }, form: { client_id: 'sw-client', scope: 'imap.full offline' } });
    expect(reqs[1]).toMatchObject({ path: '/token', query: { tenant: 'people' }, form: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code' } });
    expect(out.text()).toMatch(/enter the code ABCD-EFGH/);
    expect(readFileSync(file, 'utf8')).toBe(`${os.currentRefreshToken('seed@acme.test')}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('seedwatch auth runs the loopback flow for a preset that declares it, with the preset\'s authorization parameters', async () => {
    const out = capture();
    const err = capture();
    const file = join(dir, 'globex.token');
    const running = authCommand({ provider: 'globex', clientId: 'sw-client', out: file }, { stdout: out.stream, stderr: err.stream, presets });
    const printed = await until(() => /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(out.text())?.[1], 'authorization URL');
    const params = Object.fromEntries(new URL(printed).searchParams);
    expect(params).toMatchObject({ client_id: 'sw-client', response_type: 'code', scope: 'mail', code_challenge_method: 'S256', offline: 'yes' });
    // Nothing another provider needs leaks in (Google's access_type and prompt are the gmail preset's).
    expect(params.access_type).toBeUndefined();
    expect(params.prompt).toBeUndefined();
    const redirect = await fetch(printed, { redirect: 'manual' });
    await fetch(redirect.headers.get('location')!);
    expect(await running).toBe(0);
    expect(err.text()).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(`${os.currentRefreshToken('seed@acme.test')}\n`);
  });

  it('seedwatch auth names a preset without a sign-in flow, and lists the presets that have one', async () => {
    const err = capture();
    const before = os.requests.length;
    expect(await authCommand({ provider: 'initech', clientId: 'c', out: join(dir, 'never') }, { stdout: capture().stream, stderr: err.stream, presets })).toBe(2);
    expect(err.text()).toBe(
      'seedwatch auth: --provider: preset "initech" declares no OAuth2 sign-in flow (oauth2.flow in its preset file); presets with one: acme, globex, gmail, outlook\n',
    );
    expect(os.requests.length).toBe(before);
  });
});

describe('a preset file is validated like the config', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const presetsWith = (name: string, text: string) => {
    const d = mkdtempSync(join(tmpdir(), 'seedwatch-bad-preset-'));
    dirs.push(d);
    writeFileSync(join(d, `${name}.yaml`), text);
    return () => loadPresets(d);
  };
  const base = 'displayName: X\nimap: { host: imap.x.test }\nfolders: { spam: { names: [Junk] }, trash: { names: [Trash] } }\n';

  it.each([
    ['a flow without its endpoint', 'name: x\nauth: [oauth2]\noauth2: { tokenUrl: "https://x.test/token", scope: s, flow: device-code }\n', /x\.yaml: oauth2\.deviceCodeUrl: required for flow device-code/],
    ['a flow for a provider that accepts no OAuth2 login', 'name: x\nauth: [password]\noauth2: { tokenUrl: "https://x.test/token", scope: s, flow: loopback, authorizeUrl: "https://x.test/a" }\n', /x\.yaml: oauth2\.flow: the preset declares a sign-in flow but auth does not list oauth2/],
    ['an endpoint that is not a URL', 'name: x\nauth: [oauth2]\noauth2: { tokenUrl: "login.x.test/token", scope: s }\n', /x\.yaml: oauth2\.tokenUrl: expected an http\(s\) URL/],
    ['an IDLE refresh that is not a duration', 'name: x\nauth: [password]\nidleRefresh: soon\n', /x\.yaml: idleRefresh: expected a duration/],
  ])('%s', (_what, text, message) => {
    const load = presetsWith('x', base + text);
    expect(load).toThrow(PresetError);
    expect(load).toThrow(message);
  });
});
