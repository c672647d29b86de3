/**
 * Secrets never leave the agent. A full run of `seedwatch run` (child process, debug logging)
 * with distinctive secret values: the IMAP password (env), the relay's SMTP AUTH password
 * (file), the HTTP bearer token (env) and the DKIM private key (file) — plus wrong ones that
 * make a login and an SMTP AUTH fail, because error paths are where secrets leak. None of them
 * (nor their base64 AUTH forms) may appear in any log line, error, metric, API answer, page or
 * `seedwatch check` output. The run must really have used them: probes accepted through the
 * AUTH relay, DKIM-signed, observed over IMAP.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/processes.js';
import { parseHeaders } from '../../helpers/smtp-relay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');

const IMAP_USER = 'seed.secret@gmail.test';
const IMAP_PW = 'imapS3CRETpw7f3a91zq';
const WRONG_IMAP_USER = 'seed.locked@gmail.test';
const WRONG_IMAP_PW = 'imapWR0NGpw44aa19zq';
const SMTP_USER = 'relay-user';
const SMTP_PASS = 'smtpS3CRETpassC0ffee';
const WRONG_SMTP_PASS = 'smtpWR0NGpass99bbzq';
const TOKEN = 'tokS3CRETbearer5150zq';
const WRONG_TOKEN = 'tokWR0NGbearer0000zq';

const b64 = (s: string) => Buffer.from(s).toString('base64');

let dc: DovecotServer;
let relay: SMTPServer;
let relayPort: number;
const relayed: { user: string; headers: Record<string, string[]> }[] = [];
let dir: string;
let port: number;
let dkimPem: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-secrets-'));
  port = await freePort();
  dc = await startDovecot({
    users: [
      { user: IMAP_USER, password: IMAP_PW, kind: 'gmail' },
      { user: WRONG_IMAP_USER, password: 'the-real-one-is-not-configured', kind: 'gmail' },
    ],
  });
  // The harness relay has no AUTH: this one requires it (plaintext AUTH on loopback only).
  relayPort = await freePort();
  relay = new SMTPServer({
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        relayed.push({ user: String(session.user), headers: parseHeaders(raw) });
        lmtpDeliver({ host: '127.0.0.1', port: dc.lmtpPort }, { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) }, raw).then(
          () => cb(null, 'OK queued'),
          (err: Error) => cb(Object.assign(new Error(`451 ${err.message}`), { responseCode: 451 })),
        );
      });
    },
  });
  relay.on('error', () => undefined);
  await new Promise<void>((resolve) => relay.listen(relayPort, '127.0.0.1', resolve));

  dkimPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'dkim.pem'), dkimPem);
  writeFileSync(join(dir, 'smtp-pass'), SMTP_PASS + '\n');
  writeFileSync(join(dir, 'smtp-wrong-pass'), WRONG_SMTP_PASS + '\n');
  writeFileSync(
    join(dir, 'seedwatch.yaml'),
    `listen: 127.0.0.1:${port}
dataDir: ./data
schedule: "*/2 * * * * *"
deadline: 1m
concurrency: 2
probe:
  from: "Deliverability Probe <probe@mail.example.test>"
  dkim: { domain: mail.example.test, selector: sel1, privateKey: { file: ./dkim.pem } }
http:
  token: { env: SW_SECRET_TOKEN }
watch: { pollInterval: 1s, idleCheck: 1s, cleanup: keep }
paths:
  - name: peering
    smtp: { host: 127.0.0.1, port: ${relayPort}, auth: { user: ${SMTP_USER}, pass: { file: ./smtp-pass } } }
  - name: transit
    smtp: { host: 127.0.0.1, port: ${relayPort}, auth: { user: ${SMTP_USER}, pass: { file: ./smtp-wrong-pass } } }
seeds:
  - name: gmail-1
    address: ${IMAP_USER}
    provider: gmail
    imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: ${IMAP_USER}, password: { env: SW_SECRET_IMAP } }
  - name: gmail-locked
    address: ${WRONG_IMAP_USER}
    provider: gmail
    imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: ${WRONG_IMAP_USER}, password: { env: SW_SECRET_IMAP_WRONG } }
`,
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const env = { ...process.env, SW_SECRET_TOKEN: TOKEN, SW_SECRET_IMAP: IMAP_PW, SW_SECRET_IMAP_WRONG: WRONG_IMAP_PW, SEEDWATCH_LOG_LEVEL: 'trace' };

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** Every form a secret could take on the way out. */
function needles(): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = [];
  for (const [label, v] of Object.entries({ IMAP_PW, WRONG_IMAP_PW, SMTP_PASS, WRONG_SMTP_PASS, TOKEN })) {
    out.push({ label, value: v });
    out.push({ label: `${label} (base64)`, value: b64(v) });
  }
  for (const [u, p] of [[IMAP_USER, IMAP_PW], [WRONG_IMAP_USER, WRONG_IMAP_PW], [SMTP_USER, SMTP_PASS], [SMTP_USER, WRONG_SMTP_PASS]]) {
    out.push({ label: `AUTH PLAIN ${u}`, value: b64(`\0${u}\0${p}`) });
  }
  // Any 40 characters of the key's base64 body (lines are 64 wide; a leak of any line shows).
  const body = dkimPem.split('\n').filter((l) => l && !l.startsWith('-----'));
  for (const [i, line] of body.entries()) out.push({ label: `DKIM key line ${i}`, value: line.slice(0, 40) });
  return out;
}

function expectNoSecret(where: string, text: string): void {
  for (const n of needles()) {
    if (text.includes(n.value)) throw new Error(`${n.label} leaked into ${where}`);
  }
}

describe('secrets', () => {
  it('appear in no log line, error, metric, API answer, page or check output', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [BIN, 'run', '--config', join(dir, 'seedwatch.yaml')], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
    const answers: { where: string; text: string }[] = [];
    try {
      const ledgerFile = join(dir, 'data', 'ledger.sqlite');
      const count = (sql: string) => {
        const l = SqliteLedger.open(ledgerFile, { readonly: true });
        try {
          return (l.db.prepare(sql).get() as { n: number }).n;
        } finally {
          void l.close();
        }
      };
      // The run really used every secret: peering accepted and seen in gmail-1's inbox,
      // transit refused by AUTH, gmail-locked's login refused.
      await waitFor(
        () =>
          count(`SELECT COUNT(*) AS n FROM probes WHERE path = 'peering' AND seed = 'gmail-1' AND outcome = 'inbox'`) >= 2 &&
          count(`SELECT COUNT(*) AS n FROM probes WHERE path = 'transit' AND error_reason = 'auth'`) >= 2 &&
          count(`SELECT COUNT(*) AS n FROM mailbox_events WHERE seed = 'gmail-locked' AND kind = 'login'`) >= 1,
        { timeoutMs: 60_000, what: 'probes through AUTH observed, wrong AUTH and wrong login recorded', diagnostics: () => log.slice(-3000) },
      );
      expect(relayed.length).toBeGreaterThanOrEqual(2);
      expect(relayed.every((m) => m.user === SMTP_USER)).toBe(true);
      expect(relayed.every((m) => m.headers['dkim-signature']?.[0]?.includes('s=sel1'))).toBe(true);

      const get = async (path: string, init?: RequestInit) => {
        const r = await fetch(base + path, init);
        const text = await r.text();
        answers.push({ where: `${path} (${r.status})`, text: `${JSON.stringify([...r.headers])}\n${text}` });
        return { status: r.status, text };
      };
      expect((await get('/api/probes?limit=1000', auth)).status).toBe(200);
      const probes = JSON.parse(answers[answers.length - 1].text.split('\n').slice(1).join('\n')).probes as { id: string; path: string; errorMessage: string | null }[];
      expect(probes.some((p) => p.path === 'transit' && /auth|535|credentials/i.test(p.errorMessage ?? ''))).toBe(true);
      for (const p of probes) expect((await get(`/api/probes/${p.id}`, auth)).status).toBe(200);
      expect((await get('/api/summary?window=1h', auth)).status).toBe(200);
      expect((await get('/', auth)).status).toBe(200);
      expect(answers[answers.length - 1].text).toContain('gmail-locked'); // the failing seed is on the page
      for (const f of ['html', 'md', 'csv', 'json']) expect((await get(`/report/weekly?format=${f}`, auth)).status).toBe(200);
      expect((await get('/metrics')).status).toBe(200);
      expect(answers[answers.length - 1].text).toMatch(/seedwatch_mailbox_errors_total\{seed="gmail-locked",provider="gmail",kind="login"\} [1-9]/);
      expect((await get('/readyz')).status).toBe(503); // gmail-locked never connected
      expect((await get('/healthz')).status).toBe(200);
      // Errors: no token, a wrong token, a bad request, an unknown route.
      expect((await get('/api/probes')).status).toBe(401);
      expect((await get('/api/probes', { headers: { Authorization: `Bearer ${WRONG_TOKEN}` } })).status).toBe(401);
      expect((await get('/', { headers: { Authorization: `Bearer ${WRONG_TOKEN}` } })).status).toBe(401);
      expect((await get('/api/probes?limit=abc', auth)).status).toBe(400);
      expect((await get('/nope', auth)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    for (const a of answers) expectNoSecret(`HTTP answer ${a.where}`, a.text);
    // The log at trace level, line by line, and it did say what went wrong.
    const lines = log.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(10);
    for (const [i, line] of lines.entries()) expectNoSecret(`log line ${i + 1}`, line);
    expect(log).toMatch(/gmail-locked/);
    expect(log).toMatch(/reason":"auth"|"auth"/);

    // `seedwatch check` logs into every seed and tests every path, failures included.
    const check = await run(['check', '--config', join(dir, 'seedwatch.yaml')], 60_000);
    expect(check.out).toMatch(/gmail-locked/);
    expectNoSecret('seedwatch check output', check.out);
  });
});
