// The repository stands alone: facts about the servers and libraries it works with are in
// docs/components.md, which code and docs cite by section; nothing points at notes that live
// outside the repository.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((f) => /\.(ts|js|md|ya?ml|json|sh)$/.test(f) || f === '.ci/run')
  .filter((f) => !f.startsWith('node_modules/') && f !== 'package-lock.json');
const text = (f: string): string => {
  try {
    return readFileSync(join(root, f), 'utf8');
  } catch {
    return ''; // deleted in the work tree, not yet in the index
  }
};

/** Names of notes outside the repository (spelled in pieces so this file does not match itself). */
const OUTSIDE = [['MACHINE', 'NOTES'].join('-'), ['CONVENTIONS', 'md'].join('.'), ['/work', 'shared'].join('/')];

/**
 * Citations in files someone else is editing right now; remove an entry once its line cites
 * docs/components.md (the test fails on an entry that no longer matches).
 */
const PENDING: ReadonlyArray<{ file: string; line: number }> = [];

describe('the repository stands alone', () => {
  it('reads the repository', () => {
    expect(files).toContain('docs/components.md');
    expect(files.length).toBeGreaterThan(100);
  });

  it('no file cites notes kept outside the repository', () => {
    const hits = files.flatMap((f) =>
      text(f)
        .split('\n')
        .flatMap((l, i) => (OUTSIDE.some((o) => l.includes(o)) ? [{ file: f, line: i + 1 }] : []))
        .filter((h) => !PENDING.some((p) => p.file === h.file && p.line === h.line))
        .map((h) => `${h.file}:${h.line}`),
    );
    expect(hits).toEqual([]);
  });

  it('every pending exception still exists', () => {
    const stale = PENDING.filter((p) => !OUTSIDE.some((o) => (text(p.file).split('\n')[p.line - 1] ?? '').includes(o)));
    expect(stale).toEqual([]);
  });

  it('every citation of docs/components.md names one of its sections', () => {
    const sections = new Set([...text('docs/components.md').matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim()));
    expect(sections.size).toBeGreaterThan(3);
    // `docs/components.md, "Dovecot"` in code, `[components.md, "Dovecot"](components.md#dovecot)` in docs.
    const citation = /components\.md,\s*"([^"]+)"/g;
    const cited = files.flatMap((f) => [...text(f).matchAll(citation)].map((m) => ({ file: f, section: m[1]! })));
    expect(cited.length).toBeGreaterThan(5);
    expect(cited.filter((c) => !sections.has(c.section)).map((c) => `${c.file}: "${c.section}"`)).toEqual([]);
  });
});
