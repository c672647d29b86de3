/**
 * Every error code seedwatch raises is in the one catalogue (agent/errors.ts), with a meaning.
 * Codes are found in the source: `readonly code = 'X'`, `new SomethingError('X', …)`, and the
 * members of `Extract<ErrorCode, 'X' | …>` unions (those are checked by tsc already).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../agent/errors.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), '../../../agent');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('error catalogue', () => {
  it('every code raised under agent/ is catalogued with a one-line meaning', () => {
    const raised = new Map<string, string>();
    for (const f of files(AGENT)) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/readonly code = '([A-Z][A-Z0-9_]+)'/g)) raised.set(m[1], f);
      for (const m of src.matchAll(/new [A-Z]\w*Error\(\s*'([A-Z][A-Z0-9_]+)'/g)) raised.set(m[1], f);
    }
    expect(raised.size).toBeGreaterThan(10);
    const missing = [...raised].filter(([code]) => !(code in ERROR_CODES)).map(([code, f]) => `${code} (${f})`);
    expect(missing).toEqual([]);
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(meaning.length, code).toBeGreaterThan(15);
    }
  });
});
