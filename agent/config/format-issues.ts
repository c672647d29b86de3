import type { z } from 'zod';

/** `seeds[1].imap.port` from zod's path array. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

function describeType(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `a string`;
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

/**
 * One line per problem: `FILE: field.path: message`. Messages say what was expected and,
 * for type errors, what was found, never the value itself (it could be a secret).
 */
export function formatZodIssues(file: string, issues: z.core.$ZodIssue[], raw: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${file}: ${formatPath([...issue.path, key])}: unknown key`);
      }
      continue;
    }
    if (issue.code === 'invalid_union') {
      // Our unions carry a custom message on the union itself; fall back to the first branch.
      const first = issue.errors?.[0]?.[0];
      if (issue.message && !issue.message.startsWith('Invalid input')) {
        lines.push(`${file}: ${formatPath(issue.path)}: ${issue.message}`);
      } else if (first) {
        lines.push(...formatZodIssues(file, [{ ...first, path: [...issue.path, ...first.path] }], raw));
      } else {
        lines.push(`${file}: ${formatPath(issue.path)}: invalid value`);
      }
      continue;
    }
    const path = formatPath(issue.path);
    if (issue.code === 'invalid_type' && (!issue.message || issue.message.startsWith('Invalid input'))) {
      const found = valueAt(raw, issue.path);
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      lines.push(
        found === undefined
          ? `${file}: ${path}: required (expected ${expected})`
          : `${file}: ${path}: expected ${expected}, got ${describeType(found)}`,
      );
      continue;
    }
    lines.push(`${file}: ${path}: ${issue.message}`);
  }
  return lines;
}
