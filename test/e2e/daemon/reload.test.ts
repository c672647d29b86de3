/**
 * Config reload of `seedwatch run` (a child process): SIGHUP with a valid new config makes it
 * take effect without a restart (same PID; a new path's series appear; counters continue from
 * the ledger); an invalid one is refused with the field named, and the agent keeps running on
 * the old one; POST /-/reload (http.reload) does the same over HTTP, and without http.reload
 * (the default) it is not there (404). Reload state is exported as blackbox_exporter does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/processes.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');

let dir: string;
let port: number;
let relay: SmtpRelay;
let child: ChildProcess;
let output = '';

const config = (paths: string[], extra = '') => `listen: 127.0.0.1:${port}
dataDir: ./data
schedule: "0 0 1 1 *"
http: { reload: true }
probe:
  from: "Deliverability Probe <probe@mail.example.test>"
paths:
${paths.map((p) => `  - name: ${p}\n    smtp: { host: 127.0.0.1, port: ${relay.port} }`).join('\n')}
seeds:
  - name: seed-1
    address: seed@example.test
    provider: generic
    imap: { host: 127.0.0.1, port: 1, secure: false, user: seed@example.test, password: { env: SW_RELOAD_PW } }
${extra}`;

async function metricsText(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
const sample = (text: string, line: string) => new RegExp(`^${line.replace(/[{}"()[\]|.+*?^$\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-reload-'));
  port = await freePort();
  relay = await startRelay({ name: 'relay' });
  writeFileSync(join(dir, 'seedwatch.yaml'), config(['peering']));
  child = spawn(process.execPath, [BIN, 'run', '--config', join(dir, 'seedwatch.yaml')], {
    cwd: dir,
    env: { ...process.env, SW_RELOAD_PW: 'x', SEEDWATCH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, { timeoutMs: 20_000, what: 'agent serving', diagnostics: () => output });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('config reload', () => {
  it('SIGHUP applies a valid config in place, refuses an invalid one and keeps running; POST /-/reload too', { timeout: 60_000 }, async () => {
    let text = await metricsText();
    expect(sample(text, 'seedwatch_config_last_reload_successful')).toBe('1');
    const loadedAt = Number(sample(text, 'seedwatch_config_last_reload_success_timestamp_seconds'));
    expect(text).not.toContain('path="transit"');

    // A valid config with a second path.
    writeFileSync(join(dir, 'seedwatch.yaml'), config(['peering', 'transit']));
    child.kill('SIGHUP');
    text = await waitFor(async () => {
      const t = await metricsText().catch(() => '');
      return t.includes('seedwatch_probes_sent_total{path="transit",seed="seed-1",provider="generic"} 0') ? t : undefined;
    }, { timeoutMs: 15_000, what: 'the new path exported', diagnostics: () => output });
    expect(child.exitCode).toBeNull();
    expect(sample(text, 'seedwatch_config_last_reload_successful')).toBe('1');
    expect(Number(sample(text, 'seedwatch_config_last_reload_success_timestamp_seconds'))).toBeGreaterThan(loadedAt);
    expect(output).toContain('config reloaded');

    // An invalid config: refused, the field named, the agent still runs the previous one.
    writeFileSync(join(dir, 'seedwatch.yaml'), config(['peering', 'transit']).replace(`port: ${relay.port}`, 'port: 99999'));
    child.kill('SIGHUP');
    text = await waitFor(async () => {
      const t = await metricsText().catch(() => '');
      return sample(t, 'seedwatch_config_last_reload_successful') === '0' ? t : undefined;
    }, { timeoutMs: 15_000, what: 'the refusal exported', diagnostics: () => output });
    expect(output).toMatch(/config reload refused; still running on the previous config/);
    expect(output).toContain('paths[0].smtp.port: expected an integer from 1 to 65535');
    expect(text).toContain('seedwatch_probes_sent_total{path="transit",seed="seed-1",provider="generic"} 0');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).ok).toBe(true);

    // Over HTTP: refused with the reason (500), then accepted (200) with a third path.
    const refused = await fetch(`http://127.0.0.1:${port}/-/reload`, { method: 'POST' });
    expect(refused.status).toBe(500);
    expect(((await refused.json()) as { error: string }).error).toContain('paths[0].smtp.port');
    writeFileSync(join(dir, 'seedwatch.yaml'), config(['peering', 'transit', 'backup']));
    const accepted = await fetch(`http://127.0.0.1:${port}/-/reload`, { method: 'POST' });
    expect(accepted.status).toBe(200);
    text = await waitFor(async () => {
      const t = await metricsText().catch(() => '');
      return t.includes('path="backup"') && sample(t, 'seedwatch_config_last_reload_successful') === '1' ? t : undefined;
    }, { timeoutMs: 15_000, what: 'the HTTP reload applied', diagnostics: () => output });
    expect(child.exitCode).toBeNull();
  });

  it('a second daemon on the same data directory refuses to start, naming the running one', { timeout: 30_000 }, async () => {
    const second = spawn(process.execPath, [BIN, 'run', '--config', join(dir, 'seedwatch.yaml')], {
      cwd: dir,
      env: { ...process.env, SW_RELOAD_PW: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    second.stdout!.on('data', (d) => (out += d));
    second.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(out).toContain(`another seedwatch agent (pid ${child.pid}`);
    expect(out).toContain(join(dir, 'data'));
    // The first one is unharmed.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).ok).toBe(true);
  });

  it('without http.reload (the default), POST /-/reload answers 404 and reloads nothing; SIGHUP still does', { timeout: 60_000 }, async () => {
    const reloads = () => output.split('config reloaded').length - 1;
    const reloaded = (n: number, what: string) => waitFor(() => reloads() > n || undefined, { timeoutMs: 15_000, what, diagnostics: () => output });
    const withoutReload = (paths: string[]) => {
      const text = config(paths);
      expect(text).toContain('http: { reload: true }\n');
      return text.replace('http: { reload: true }\n', '');
    };
    let n = reloads();
    writeFileSync(join(dir, 'seedwatch.yaml'), withoutReload(['peering']));
    child.kill('SIGHUP');
    await reloaded(n, 'the config without http.reload applied');

    // A valid config with a new path is waiting in the file: the endpoint is gone, so nothing
    // picks it up (a swap would follow a 200 within 100 ms).
    writeFileSync(join(dir, 'seedwatch.yaml'), withoutReload(['peering', 'extra']));
    n = reloads();
    const res = await fetch(`http://127.0.0.1:${port}/-/reload`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(reloads()).toBe(n);
    expect(await metricsText()).not.toContain('path="extra"');
    expect(child.exitCode).toBeNull();

    // The same file through SIGHUP: it was valid all along.
    child.kill('SIGHUP');
    await waitFor(async () => ((await metricsText().catch(() => '')).includes('seedwatch_probes_sent_total{path="extra",seed="seed-1",provider="generic"} 0') ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the new path exported after SIGHUP',
      diagnostics: () => output,
    });
  });
});
