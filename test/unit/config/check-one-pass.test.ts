/**
 * `seedwatch check` reports schema, provider and secret problems in one pass: a bad port on one
 * seed does not hide an unknown provider on another, nor a missing secret, so a user fixes
 * everything after one run instead of one class of problem per run.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCommand } from '../../../agent/cli/check.js';
import { ConfigError, loadConfig } from '../../../agent/config/load-config.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

/** The fixture's `.expected` lines, for the file named as the user named it. */
function expectedFor(name: string, file: string): string {
  return readFileSync(join(FIXTURES, `${name}.expected`), 'utf8').replaceAll(`${name}.yaml:`, `${file}:`);
}

async function check(file: string, env: NodeJS.ProcessEnv) {
  const out = capture();
  const err = capture();
  const code = await checkCommand({ config: file, connect: false }, { stdout: out.stream, stderr: err.stream, env });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('seedwatch check: one pass', () => {
  it('lists the schema, provider and secret problems of the combined fixture together, and exits 2', async () => {
    const file = relative(process.cwd(), join(FIXTURES, 'combined.yaml'));
    const r = await check(file, { SW_TEST_PW: 'pw' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(expectedFor('combined', file));
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(4);
  });

  it('an invalid config still names the secrets it could check (here, the valid seed\'s unset variable)', async () => {
    const file = join(FIXTURES, 'wrong-type.yaml');
    const r = await check(file, {});
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `${file}: seeds[1].imap.port: expected an integer from 1 to 65535\n` +
        `${file}: seeds[0].imap.password: environment variable SW_TEST_PW is not set\n`,
    );
  });

  it('a valid config with a missing secret prints the plan, the secret MISSING, and exits 1 (unchanged)', async () => {
    const file = join(FIXTURES, 'missing-secret.yaml');
    const r = await check(file, { SW_TEST_PW: 'pw' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`config ${file}: valid`);
    expect(r.stdout).toContain('MISSING seeds[0].imap.password (env SW_TEST_MISSING_PASSWORD): environment variable SW_TEST_MISSING_PASSWORD is not set');
  });

  it('loading a config (run, probe) reports its schema and provider problems together too', () => {
    const file = join(FIXTURES, 'combined.yaml');
    let problems: string[] = [];
    try {
      loadConfig(file);
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    // Secrets are resolved when the agent starts, not when the config is read.
    expect(problems).toEqual(expectedFor('combined', file).trimEnd().split('\n').slice(0, 3));
  });
});
