/**
 * Human logs on a terminal, JSON everywhere else. The terminal is a real pseudo-terminal
 * (util-linux `script`), so the decision is the one a user's shell gets: one readable line per
 * entry (coloured unless NO_COLOR), while a pipe gets one JSON object per line; --log-format
 * and --log-level (the CLI's global flags) and SEEDWATCH_LOG_LEVEL override.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../../agent/cli.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS } from '../../../agent/log.js';
import { freePort } from '../../helpers/ports.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../../..');
const LOG_LINES = join(HERE, 'fixtures/log-lines.ts');
const CLI = join(HERE, 'fixtures/cli.ts');
/** A pretty line: time, level, message, then the fields as one JSON object. */
const PRETTY_INFO = /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: probe sent \{"seed":"gmail-1","password":"\[redacted\]"\}$/m;
const ANSI = /\x1b\[\d+m/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Base environment of every run: no inherited log or colour settings. Node's colour detection
 * (tty getColorDepth) also reads CI (a CI it does not know gets 2 colours), TMUX, COLORTERM,
 * TERM_PROGRAM and TEAMCITY_VERSION: the terminal here is xterm-256color and nothing else.
 */
const INHERITED = [
  'SEEDWATCH_LOG_LEVEL', 'SEEDWATCH_LOG_FORMAT', 'NO_COLOR', 'FORCE_COLOR', 'NODE_DISABLE_COLORS',
  'CI', 'TMUX', 'COLORTERM', 'TERM_PROGRAM', 'TEAMCITY_VERSION',
];
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  for (const k of INHERITED) delete e[k];
  return { ...e, ...extra };
}

function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: env(extraEnv), timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A node command through a pipe (stdout/stderr are pipes: not a terminal). */
function piped(args: string[], extraEnv?: Record<string, string>): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', ...args], extraEnv);
}

/** The same command on a pseudo-terminal: `script` runs it with stdin/stdout/stderr on a pty. */
async function onTerminal(args: string[], extraEnv?: Record<string, string>): Promise<string> {
  const quoted = [process.execPath, '--import', 'tsx', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await run('script', ['-qec', quoted, '/dev/null'], extraEnv);
  return r.stdout.replace(/\r\n/g, '\n');
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.concurrent('log format', () => {
  it('a pipe gets one JSON object per line, secrets redacted, below-level entries dropped', async () => {
    const r = await piped([LOG_LINES]);
    const lines = jsonLines(r.stderr);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, 'probe sent'],
      [40, 'relay slow'],
    ]);
    expect(lines[0]).toMatchObject({ app: 'seedwatch', seed: 'gmail-1', password: '[redacted]' });
    expect(r.stdout).toBe('');
  });

  it('a terminal gets one readable, coloured line per entry', async () => {
    const out = await onTerminal([LOG_LINES]);
    expect(out).not.toMatch(/^\{/m);
    expect(out).toMatch(ANSI);
    const plain = out.replace(/\x1b\[\d+m/g, '');
    expect(plain).toMatch(PRETTY_INFO);
    expect(plain).toMatch(/^\[[\d:.]+\] WARN: relay slow \{"path":"transit"\}$/m);
    expect(plain).not.toContain('hunter2');
    expect(plain).not.toContain('a debug line');
    expect(plain.trim().split('\n')).toHaveLength(2);
  });

  it('a terminal without colour support (NO_COLOR) gets the same lines without escape codes', async () => {
    const out = await onTerminal([LOG_LINES], { NO_COLOR: '1' });
    expect(out).not.toMatch(ANSI);
    expect(out).toMatch(PRETTY_INFO);
  });

  it('SEEDWATCH_LOG_FORMAT=json and SEEDWATCH_LOG_LEVEL apply on a terminal too', async () => {
    const out = await onTerminal([LOG_LINES], { SEEDWATCH_LOG_FORMAT: 'json', SEEDWATCH_LOG_LEVEL: 'debug' });
    expect(jsonLines(out).map((l) => l.msg)).toEqual(['a debug line', 'probe sent', 'relay slow']);
  });

  it('an explicit format wins over the destination (pretty into a stream)', () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (c: Buffer) => (text += c.toString()));
    createLogger({ destination: sink, format: 'pretty', env: {} }).info({ n: 1 }, 'hello');
    expect(text).toMatch(/^\[[\d:.]+\] INFO: hello \{"n":1\}\n$/);
  });
});

describe('--log-format and --log-level', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-log-'));
  let busy: net.Server;
  let config: string;

  beforeAll(async () => {
    // `seedwatch run` on a config whose listen address is taken: it logs "cannot start" through
    // the command's logger and exits 2, within a second, without touching the network.
    const port = await freePort();
    busy = net.createServer();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
    config = join(dir, 'seedwatch.yaml');
    writeFileSync(
      config,
      [
        `listen: 127.0.0.1:${port}`,
        'dataDir: ./data',
        'probe: { from: "Probe <probe@example.test>" }',
        'paths: [{ name: relay, smtp: { host: 127.0.0.1, port: 9 } }]',
        'seeds: [{ name: s1, address: s1@example.test, provider: generic, imap: { host: 127.0.0.1, port: 9, secure: false, user: s1, password: { env: SEEDWATCH_TEST_PW } } }]',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {
    busy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are global options of the CLI with the logger\'s levels and formats', () => {
    const opts = buildProgram().options;
    const choices = (flag: string) => (opts.find((o) => o.long === flag) as { argChoices?: string[] }).argChoices;
    expect(choices('--log-level')).toEqual([...LOG_LEVELS]);
    expect(choices('--log-format')).toEqual([...LOG_FORMATS]);
  });

  it('a command on a terminal logs pretty; --log-format json (after the command name) makes it JSON; --log-level fatal silences it', { timeout: 60_000 }, async () => {
    const pw = { SEEDWATCH_TEST_PW: 'x' };
    // One after the other: they share the config's data directory, which a daemon locks.
    const pretty = await onTerminal([CLI, 'run', '--config', config], pw);
    const json = await onTerminal([CLI, 'run', '--config', config, '--log-format', 'json'], pw);
    const silenced = await piped([CLI, '--log-level', 'fatal', 'run', '--config', config], pw);
    expect(pretty.replace(/\x1b\[\d+m/g, '')).toMatch(/^\[[\d:.]+\] ERROR: cannot start \{"err":"cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE"\}$/m);
    expect(jsonLines(json).find((l) => l.msg === 'cannot start')).toMatchObject({ level: 50 });
    expect(silenced.code).toBe(2);
    expect(silenced.stderr).not.toContain('cannot start');
  });
});
