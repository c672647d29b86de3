/**
 * `seedwatch demo`: the unchanged agent against the embedded sandbox providers, everything in
 * this process on 127.0.0.1, no real credentials. The sandbox's password mailboxes log in with
 * a random password that only this process knows (in SEEDWATCH_DEMO_PASSWORD); the Outlook
 * mailbox allows OAuth2 only, like Microsoft: the agent refreshes access tokens at the
 * sandbox's token endpoint with a random refresh token (in SEEDWATCH_DEMO_OUTLOOK_REFRESH_TOKEN)
 * and logs in with XOAUTH2. The generated config is written into the data dir (a temp dir
 * unless --data-dir) and loaded like any other, with the shipped provider presets.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { createLogger } from '../log.js';

/** One probe cycle every 10 s, so the pages fill within a minute. */
export const DEMO_SCHEDULE = '*/10 * * * * *';
/** A probe not seen within a minute is missing (the sandbox's slow tail reaches 90 s: some will be late). */
export const DEMO_DEADLINE = '60s';
/** The generated config's file name inside the data dir. */
export const DEMO_CONFIG_FILE = 'seedwatch-demo.yaml';
/**
 * Bounds the whole shutdown after SIGINT/SIGTERM (the agent's own budget is 9 s); past it the
 * process exits anyway with EXIT_ERROR, so a stop never takes more than ~10 s.
 */
export const DEMO_STOP_BUDGET_MS = 9_500;
/** The probes are DKIM-signed like a real sender's, with a key made for this run. */
export const DEMO_DKIM = { domain: 'mail.example.com', selector: 'demo', privateKeyFile: 'dkim-demo.pem' };
/** The sandbox's access tokens live 10 min, so a demo session sees the agent refresh them. */
export const DEMO_ACCESS_TOKEN_TTL_SECONDS = 600;

export async function demoCommand(opts: { dataDir?: string; listen: string }): Promise<number> {
  // The sandbox is demo scaffolding outside the product (sandbox/): only this command loads it,
  // and only when it runs.
  const { DEMO_PASSWORD_ENV, demoRefreshTokenEnv } = await import('../../sandbox/demo-config.js');
  const { startSandbox } = await import('../../sandbox/start-sandbox.js');
  type Sandbox = Awaited<ReturnType<typeof startSandbox>>;
  const logger = createLogger();
  const tempDir = opts.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'seedwatch-demo-')) : null;
  const dataDir = tempDir ?? resolve(opts.dataDir as string);
  const password = randomBytes(24).toString('base64url');
  process.env[DEMO_PASSWORD_ENV] = password;
  const outlookRefreshToken = randomBytes(24).toString('base64url');
  process.env[demoRefreshTokenEnv('outlook')] = outlookRefreshToken;

  let sandbox: Sandbox | null = null;
  let agent: { url: string; stop(): Promise<void> } | null = null;
  const cleanUp = async () => {
    await agent?.stop();
    await sandbox?.stop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };

  try {
    mkdirSync(dataDir, { recursive: true });
    sandbox = await startSandbox({
      password,
      oauth2Providers: ['outlook'],
      refreshTokens: { outlook: outlookRefreshToken },
      accessTokenTtlSeconds: DEMO_ACCESS_TOKEN_TTL_SECONDS,
      logger: logger.child({ component: 'sandbox' }),
    });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dataDir, DEMO_DKIM.privateKeyFile), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const file = join(dataDir, DEMO_CONFIG_FILE);
    const yaml = sandbox.configYaml({ listen: opts.listen, dataDir: '.', schedule: DEMO_SCHEDULE, deadline: DEMO_DEADLINE, dkim: DEMO_DKIM });
    writeFileSync(file, yaml, { mode: 0o600 });
    const config = loadConfig(file);
    const { startAgent } = await import('../agent.js');
    agent = await startAgent({ config, env: process.env, logger, pages: true });
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`seedwatch demo: ${err.message}\n`);
    else process.stderr.write(`seedwatch demo: cannot start: ${(err as Error).message}\n`);
    await cleanUp().catch(() => undefined);
    return EXIT_ERROR;
  }

  const url = agent.url;
  process.stdout.write(
    [
      'seedwatch demo: the agent is probing sandbox providers (gmail, outlook, yahoo, orange) over two paths (peering, transit).',
      `  status page    ${url}/`,
      `  metrics        ${url}/metrics`,
      `  weekly report  ${url}/report/weekly`,
      `  API summary    ${url}/api/summary`,
      `  data dir       ${dataDir}${tempDir ? ' (temporary, removed on exit)' : ''}`,
      'Outlook allows OAuth2 only: the agent refreshes tokens at the sandbox token endpoint and logs in with XOAUTH2.',
      'Transit into Outlook turns to spam during minutes 0-4 of every quarter hour, and the sandbox DNSBL lists the transit IP meanwhile (status page, Reputation). Ctrl-C stops.',
      '',
    ].join('\n'),
  );

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    let exitCode: number | null = null;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping the demo');
      // Unref'd: it fires only if something still holds the process at the end of the budget.
      const budget = setTimeout(() => {
        if (exitCode === null) logger.error({ budgetMs: DEMO_STOP_BUDGET_MS }, 'demo did not stop in time; exiting anyway');
        else logger.warn('a handle outlived the demo shutdown; exiting');
        process.exit(exitCode ?? EXIT_ERROR);
      }, DEMO_STOP_BUDGET_MS);
      budget.unref();
      cleanUp().then(
        () => {
          exitCode = EXIT_OK;
          resolveExit(EXIT_OK);
        },
        (err) => {
          logger.error({ err: (err as Error).message }, 'unclean stop');
          exitCode = EXIT_ERROR;
          resolveExit(EXIT_ERROR);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
