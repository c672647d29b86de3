// Every shipped alert has promtool unit tests on both sides: at least one case where it fires
// (non-empty exp_alerts) and one where it stays quiet (an alert_rule_test entry for it with
// empty exp_alerts). An alert tested only one way can be broken the other way unnoticed: a
// rule that always fires passes its firing case, a rule that never fires passes its quiet one.
// promtool itself runs these cases in test/integration/mixin/mixin.test.ts.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const promDir = join(root, 'dashboards', 'prometheus');
const testsDir = join(promDir, 'tests');

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; labels?: { severity?: string } }> }>;
}
interface PromtoolTestFile {
  rule_files: string[];
  tests: Array<{
    name?: string;
    alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts?: Array<{ exp_labels?: Record<string, string> }> | null }>;
  }>;
}

const ruleFiles = readdirSync(promDir).filter((f) => f.endsWith('.yml')).sort();
const alertRules = ruleFiles.flatMap((f) =>
  (parse(readFileSync(join(promDir, f), 'utf8')) as RuleFile).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [{ alert: r.alert, severity: r.labels?.severity ?? '' }] : []))),
);
/** Alert names; one name may have a rule per severity (a ticket below a line, a page above it). */
const alertNames = [...new Set(alertRules.map((r) => r.alert))];
const testFiles = readdirSync(testsDir).filter((f) => f.endsWith('.test.yml')).sort();

interface Case {
  file: string;
  test: string;
  evalTime: string;
  alertname: string;
  fires: boolean;
  /** Severities of the alerts expected to fire. */
  severities: string[];
}
const cases: Case[] = testFiles.flatMap((file) => {
  const doc = parse(readFileSync(join(testsDir, file), 'utf8')) as PromtoolTestFile;
  return doc.tests.flatMap((t, i) =>
    (t.alert_rule_test ?? []).map((a) => ({
      file,
      test: t.name ?? `#${i}`,
      evalTime: a.eval_time,
      alertname: a.alertname,
      fires: (a.exp_alerts ?? []).length > 0,
      severities: (a.exp_alerts ?? []).map((e) => e.exp_labels?.severity ?? ''),
    })),
  );
});

describe('promtool cases per alert', () => {
  it('reads the rule files and the test files', () => {
    expect(ruleFiles).toContain('seedwatch-alerts.yml');
    expect(alertNames.length).toBeGreaterThanOrEqual(16);
    // A name appears once per severity at most: two rules of one name differ in severity.
    const keys = alertRules.map((r) => `${r.alert}/${r.severity}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(testFiles.length).toBeGreaterThanOrEqual(1);
    expect(cases.length).toBeGreaterThan(alertNames.length);
  });

  it('every test file loads the shipped rule files', () => {
    for (const file of testFiles) {
      const doc = parse(readFileSync(join(testsDir, file), 'utf8')) as PromtoolTestFile;
      const loaded = doc.rule_files.map((r) => resolve(testsDir, r));
      expect(loaded, file).toContain(join(promDir, 'seedwatch-alerts.yml'));
    }
  });

  it('names only alerts that exist (a quiet case for a misspelt alert passes whatever the rules do)', () => {
    const unknown = cases.filter((c) => !alertNames.includes(c.alertname)).map((c) => `${c.file} "${c.test}" @${c.evalTime}: ${c.alertname}`);
    expect(unknown).toEqual([]);
  });

  it.each(alertNames.map((a) => [a]))('%s has a firing and a quiet case', (alert) => {
    const mine = cases.filter((c) => c.alertname === alert);
    expect(mine.filter((c) => c.fires).map((c) => `${c.file} "${c.test}"`), `${alert}: no case where it fires`).not.toEqual([]);
    expect(mine.filter((c) => !c.fires).map((c) => `${c.file} "${c.test}"`), `${alert}: no case where it stays quiet`).not.toEqual([]);
    // Every severity the alert has (e.g. SeedwatchGmailSpamRateHigh: ticket and page) fires in some case.
    for (const severity of alertRules.filter((r) => r.alert === alert).map((r) => r.severity)) {
      expect(mine.some((c) => c.severities.includes(severity)), `${alert}: no case where its ${severity} rule fires`).toBe(true);
    }
  });
});
