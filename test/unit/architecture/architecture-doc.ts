/**
 * Reads the layering rules out of ARCHITECTURE.md, so the document is the rule the tests check
 * (and cannot drift from the imports): the level picture (a folder imports only from the lines
 * below its own) and the table (what each folder may import, with `(types…)` for type-only and
 * `(lazily…)` for `import(…)`-only imports).
 *
 * A unit is a folder of agent/ (`agent/watch/`), a file directly under agent/ (`agent/log.ts`),
 * `dashboards/src/` or `sandbox/`. In the document, paths are relative to agent/ except those
 * that start with `agent/`, `dashboards/` or `sandbox/`.
 */

export interface LayerRule {
  /** The units of the table row (column "folder"). */
  units: string[];
  /** null: the row may import anything ("everything …"). */
  allowed: AllowedImport[] | null;
}

export interface AllowedImport {
  unit: string;
  /** `(types…)`: every import of it is type-only. */
  typesOnly: boolean;
  /** `(lazily…)`: every import of it that loads code is an `import(…)`. */
  lazily: boolean;
}

export interface ArchitectureDoc {
  rules: LayerRule[];
  /** The level picture, top line first: the units on each line. */
  levels: string[][];
}

/** The unit a repository file belongs to (see above); null outside agent/, dashboards/src and sandbox/. */
export function unitOf(file: string): string | null {
  if (file.startsWith('agent/')) {
    const rest = file.slice('agent/'.length);
    return rest.includes('/') ? `agent/${rest.split('/')[0]}/` : file;
  }
  if (file.startsWith('dashboards/src/')) return 'dashboards/src/';
  if (file.startsWith('sandbox/')) return 'sandbox/';
  return null;
}

/** A path as the document writes it → the unit it names. */
function resolveUnit(token: string): string {
  return /^(agent|dashboards|sandbox)\//.test(token) ? token : `agent/${token}`;
}

const isUnitToken = (t: string) => /^[a-z][\w.-]*(\/[\w.-]+)*(\/|\.ts)$/.test(t);

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`ARCHITECTURE.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

export function readArchitectureDoc(markdown: string): ArchitectureDoc {
  const layers = section(markdown, 'Layers');

  // The first fenced block: one level per line, "units — description".
  const block = /```\n([\s\S]*?)```/.exec(layers);
  if (!block) throw new Error('the Layers section has no level picture');
  const levels = block[1]!
    .split('\n')
    .map((line) => line.split(' — ')[0]!.trim().split(/\s+/).filter(isUnitToken).map(resolveUnit))
    .filter((units) => units.length > 0);

  // The table whose header is "| folder | what | may import |".
  const lines = layers.split('\n');
  const header = lines.findIndex((l) => /^\|\s*folder\s*\|\s*what\s*\|\s*may import\s*\|$/.test(l.trim()));
  if (header === -1) throw new Error('the Layers section has no "| folder | what | may import |" table');
  const rules: LayerRule[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 3) throw new Error(`table row with ${cells.length} cells (a "|" inside a cell?): ${line}`);
    const units = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter(isUnitToken).map(resolveUnit);
    const may = cells[2]!;
    if (/^everything\b/i.test(may)) {
      rules.push({ units, allowed: null });
      continue;
    }
    const allowed: AllowedImport[] = [];
    // A path, then an optional parenthesised note whose first word may be "types" or "lazily".
    for (const m of may.matchAll(/`([^`]+)`(?:\s*\(([^)]*)\))?/g)) {
      if (!isUnitToken(m[1]!)) continue;
      const note = (m[2] ?? '').trim();
      allowed.push({ unit: resolveUnit(m[1]!), typesOnly: /^types\b/.test(note), lazily: /^lazily\b/.test(note) });
    }
    rules.push({ units, allowed });
  }
  return { rules, levels };
}
