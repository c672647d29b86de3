// The recording rules' Wilson bounds are the domain's Wilson bounds: promtool (the real one)
// evaluates the committed rules on counters holding k of n probes, and the expected samples are
// what agent/domain/wilson.ts returns for the same counts — the function whose values
// test/unit/domain/statistics.test.ts checks against published ones. promtool 2.42 compares
// sample values exactly, so this holds to the last bit, not to an epsilon.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { wilsonInterval } from '../../../agent/domain/statistics.js';
import { recorded, windowNames } from '../../../dashboards/src/rules.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ruleDir = join(root, 'dashboards', 'prometheus');

/** k spam of n probes: the published examples of the unit tests, the alert lines, edge counts. */
const COUNTS: ReadonlyArray<readonly [k: number, n: number]> = [
  [0, 10],
  [5, 20],
  [50, 100],
  [1, 1],
  [81, 263],
  [15, 148],
  [1, 2],
  [10, 40],
  [3, 12],
  [4, 12],
  [132, 1200],
  [156, 1200],
  [7, 7],
  [1, 100_000],
  [0, 0],
];

interface Sample {
  labels: string;
  value: number;
}

function promtoolTest(samples: (name: string, cell: string, k: number, n: number) => Sample[]): object {
  const input = COUNTS.flatMap(([k, n], i) =>
    (['spam', 'inbox'] as const).map((placement) => ({
      series: `seedwatch_placements_total{job="seedwatch",provider="p${i}",path="transit",seed="s${i}",placement="${placement}"}`,
      // Two samples an hour apart: increase() over [1h] at 1h is exactly the difference.
      values: `0 ${placement === 'spam' ? k : n - k}`,
    })),
  );
  const exprTests = windowNames.flatMap((w) =>
    (['lower', 'upper'] as const).map((bound) => {
      const name = recorded[bound](w);
      return {
        expr: name,
        eval_time: '1h',
        exp_samples: COUNTS.flatMap(([k, n], i) =>
          (['spam', 'inbox'] as const).flatMap((placement) =>
            samples(name, `provider="p${i}",path="transit",placement="${placement}"`, placement === 'spam' ? k : n - k, n),
          ),
        ),
      };
    }),
  );
  return {
    rule_files: [join(ruleDir, 'seedwatch-recording.yml')],
    evaluation_interval: '1m',
    tests: [{ name: 'recorded Wilson bounds equal agent/domain/wilson.ts', interval: '1h', input_series: input, promql_expr_test: exprTests }],
  };
}

/** The domain's bounds as exp_samples; a cell without probes has no series at all. */
const fromDomain =
  (perturb?: (name: string, cell: string, v: number) => number) =>
  (name: string, cell: string, k: number, n: number): Sample[] => {
    const w = wilsonInterval(k, n);
    if (w === null) return [];
    const v = name.includes('lower95') ? w[0] : w[1];
    return [{ labels: `${name}{${cell}}`, value: perturb ? perturb(name, cell, v) : v }];
  };

const dir = mkdtempSync(join(tmpdir(), 'seedwatch-wilson-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runPromtool(test: object, file: string): { code: number | null; out: string } {
  const path = join(dir, file);
  writeFileSync(path, stringify(test, { lineWidth: 0 }));
  const r = spawnSync('promtool', ['test', 'rules', path], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('recorded Wilson bounds (promtool)', () => {
  it('equal wilsonInterval() for the same counts, every window, lower and upper, spam and its complement', () => {
    const test = promtoolTest(fromDomain());
    const r = runPromtool(test, 'exact.test.yml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
    // 14 cells with probes × 2 placements in each of the 6 expressions; the empty cell records nothing.
    const expected = (test as { tests: Array<{ promql_expr_test: Array<{ exp_samples: Sample[] }> }> }).tests[0].promql_expr_test;
    expect(expected).toHaveLength(6);
    for (const e of expected) expect(e.exp_samples).toHaveLength(28);
  });

  it('is a real comparison: one bound off by one unit in the last place fails', () => {
    const nextUp = (v: number): number => {
      const b = new Float64Array([v]);
      new BigInt64Array(b.buffer)[0] += 1n;
      return b[0];
    };
    const test = promtoolTest(
      fromDomain((name, cell, v) => (name === recorded.lower('1h') && cell.includes('"p7"') && cell.includes('spam') ? nextUp(v) : v)),
    );
    const r = runPromtool(test, 'off-by-one-ulp.test.yml');
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAILED');
    expect(r.out).toContain('p7');
  });
});
