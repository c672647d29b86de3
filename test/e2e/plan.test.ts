// `seedwatch plan` as a user runs it (the compiled bin), checked against PUBLISHED sample sizes:
// R's power.prop.test documentation (p1 = .50, p2 = .75, power = .90 → n = 76.7; n = 50,
// p1 = .5, power = .90 → p2 = 0.8026) and Geskus, Introduction to Medical Statistics 2026
// (OUCRU), exercise class 9 (p1 = 0.2, p2 = 0.4, power = 0.8 → n = 81.22424). The seed and time
// figures follow from those by the arithmetic written beside each expectation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/seedwatch.js');

function seedwatch(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'seedwatch-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Ten cycles a day (hours 0–9), five Gmail seeds and one Yahoo seed: Gmail collects 50 probes a
// day per path — the n of R's published inverse example — Yahoo 10.
const config = join(dir, 'seedwatch.yaml');
const seed = (name: string, provider: string) =>
  `  - { name: ${name}, address: ${name}@${provider}.example, provider: ${provider}, imap: { user: ${name}, password: { env: SW_PLAN_PW } } }`;
writeFileSync(
  config,
  [
    'schedule: "0 0-9 * * *"',
    'probe: { from: "Probe <probe@mail.example.com>" }',
    'paths:',
    '  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 } }',
    '  - { name: transit, smtp: { host: 127.0.0.1, port: 2526 } }',
    'seeds:',
    ...[1, 2, 3, 4, 5].map((i) => seed(`gmail-${i}`, 'gmail')),
    seed('yahoo-1', 'yahoo'),
    '',
  ].join('\n'),
);

interface PlanJson {
  probesPerPath: number;
  probesPerPathExact: number;
  schedule: { expression: string; cyclesPerDay: number; cyclesPerWeek: number; source: string };
  seedsPerProvider: { day: number; week: number };
  config?: {
    paths: string[];
    providers: Array<{ provider: string; seeds: number; probesPerDayPerPath: number; secondsToDetect: number; detectableInDay: number | null }>;
  };
}

const json = (args: string[]): PlanJson => {
  const r = seedwatch(['plan', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
};

describe('seedwatch plan', () => {
  it('50 % → 75 % at 90 % power takes 77 probes per path (R: n = 76.7)', () => {
    const plan = json(['--detect', '25pp', '--baseline', '50%', '--power', '0.9']);
    expect(Math.abs(plan.probesPerPathExact - 76.7)).toBeLessThan(0.05);
    expect(plan.probesPerPath).toBe(77);
    // Default schedule, every 5 minutes: 288 cycles a day, so one seed per provider suffices.
    expect(plan.schedule).toEqual({ expression: '*/5 * * * *', cyclesPerDay: 288, cyclesPerWeek: 2016, source: 'default' });
    expect(plan.seedsPerProvider).toEqual({ day: 1, week: 1 });
  });

  it('20 % → 40 % at the default 80 % power takes 82 probes per path (OUCRU: n = 81.22424)', () => {
    const plan = json(['--detect', '0.2', '--baseline', '0.2']);
    expect(Math.abs(plan.probesPerPathExact - 81.22424)).toBeLessThan(5e-6);
    expect(plan.probesPerPath).toBe(82);
  });

  it('accepts the power as a percentage too', () => {
    expect(json(['--detect', '25pp', '--baseline', '50%', '--power', '90%']).probesPerPath).toBe(77);
  });

  it('with a config: seeds, time and the smallest detectable difference per provider', () => {
    const plan = json(['--detect', '25pp', '--baseline', '50%', '--power', '0.9', '--config', config]);
    expect(plan.schedule).toEqual({ expression: '0 0-9 * * *', cyclesPerDay: 10, cyclesPerWeek: 70, source: 'config' });
    // 77 probes at 10 cycles a day: 8 seeds within a day (⌈77/10⌉), 2 within a week (⌈77/70⌉).
    expect(plan.seedsPerProvider).toEqual({ day: 8, week: 2 });
    expect(plan.config?.paths).toEqual(['peering', 'transit']);
    const [gmail, yahoo] = plan.config!.providers;
    // Gmail: 5 seeds → 50 probes a day per path; ⌈77/5⌉ = 16 cycles of 2.4 h = 38.4 h.
    expect(gmail).toMatchObject({ provider: 'gmail', seeds: 5, probesPerDayPerPath: 50, secondsToDetect: 16 * 8640 });
    // 50 probes per path at 50 % with 90 % power resolve 0.8026 − 0.5 (R's published inverse).
    expect(Math.abs(gmail.detectableInDay! - 0.3026)).toBeLessThan(1.5e-4);
    // Yahoo: 1 seed → 10 a day; 77 cycles = 7.7 days.
    expect(yahoo).toMatchObject({ provider: 'yahoo', seeds: 1, probesPerDayPerPath: 10, secondsToDetect: 77 * 8640 });
  });

  it('prints the same plan as a table a person reads', () => {
    const r = seedwatch(['plan', '--detect', '25pp', '--baseline', '50%', '--power', '0.9', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('To tell two paths apart by 25 pp (50% on the better path, 75% on the worse)');
    expect(r.stdout).toContain('  77 probes per provider × path');
    expect(r.stdout).toContain('At the schedule "0 0-9 * * *", 10 cycles a day');
    expect(r.stdout).toContain('  8 seeds to see it within a day');
    expect(r.stdout).toContain('  2 seeds to see it within a week');
    // 38.4 h rounds up to 1d 15h; 184.8 h to 7d 17h.
    expect(r.stdout).toMatch(/^gmail\s+5\s+50\s+1d 15h\s+30\.3 pp\s+\S+ pp$/m);
    // 10 probes a day cannot reach 90 % power at 50 % even against 100 %: Φ((√10·0.5 − 1.96·√0.375)/0.5) = 0.78.
    expect(r.stdout).toMatch(/^yahoo\s+1\s+10\s+7d 17h\s+nothing\s+\S+ pp$/m);
    expect(r.stdout).toContain('without continuity correction (Fleiss 1981)');
  });

  it('10 → 20 % spam at 80 % power: 199 probes per path, one seed a day at the default schedule', () => {
    const r = seedwatch(['plan', '--detect', '10pp', '--baseline', '10%']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  199 probes per provider × path');
    expect(r.stdout).toContain('At the schedule "*/5 * * * *" (the default), 288 cycles a day');
    expect(r.stdout).toContain('  1 seed to see it within a day');
  });

  it.each([
    [['--detect', '5%'], '--detect: "5%" is ambiguous; write the difference in percentage points, e.g. 5pp (or as a fraction, 0.05)'],
    [['--detect', 'lots'], '--detect: "lots" is not a difference between 0 and 100 points (e.g. 5pp or 0.05)'],
    [['--detect', '0pp'], '--detect: "0pp" is not a difference between 0 and 100 points (e.g. 5pp or 0.05)'],
    [['--detect', '5pp', '--baseline', '2pp'], '--baseline: "2pp" is not a share from 0 to 100 % (e.g. 2% or 0.02)'],
    [['--detect', '5pp', '--power', '1.2'], '--power: "1.2" is not a power from 50 % to below 100 % (e.g. 0.8 or 80%)'],
    [['--detect', '60pp', '--baseline', '50%'], '--baseline 50% plus --detect 60 pp is more than 100 %'],
  ])('bad input %j exits 2 with a message', (args, message) => {
    const r = seedwatch(['plan', ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`seedwatch plan: ${message}`);
  });

  it('a missing --detect is a usage error (exit 2)', () => {
    const r = seedwatch(['plan']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--detect <difference>' not specified");
  });

  it('an invalid config exits 2 with the field named', () => {
    const r = seedwatch(['plan', '--detect', '5pp', '--config', 'test/fixtures/config/wrong-type.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('test/fixtures/config/wrong-type.yaml: seeds[1].imap.port: expected an integer from 1 to 65535');
  });
});
