/**
 * A small import graph over the repository's TypeScript sources, read with regular
 * expressions (no compiler API: TypeScript 7's native compiler has none). Good enough for
 * layering rules: every `import … from`, `export … from`, side-effect `import '…'` and dynamic
 * `import('…')` is an edge; relative specifiers are resolved (`.js` → `.ts`), bare ones (npm
 * packages, `node:` built-ins) are kept as written.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface ImportEdge {
  /** The specifier as written. */
  specifier: string;
  /** Repository-relative path (posix separators) of the resolved file, for a relative specifier that resolves to one. */
  target: string | null;
  /** `import('…')`: loaded only when that code runs. */
  dynamic: boolean;
  /** `import type` / `export type`: erased at compile time, loads nothing. */
  typeOnly: boolean;
  /** 1-based line of the statement, for messages. */
  line: number;
}

/** Repository-relative file path (posix separators) → its imports. */
export type ImportGraph = Map<string, ImportEdge[]>;

// `import x from '…'`, `import { a,\n b } from '…'`, `import type …`, `export * from '…'`,
// `export { a } from '…'`, `import '…'`. The part before `from` holds no quote or semicolon.
const STATIC_IMPORT = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'"`;]*?\bfrom\s*)?(['"])([^'"\n]+)\3/g;
const DYNAMIC_IMPORT = /\bimport\(\s*(['"])([^'"\n]+)\1\s*\)/g;

/** Blanks out comments (keeping line breaks, so line numbers stay right); strings are left alone. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  let quote: string | null = null;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (quote) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 2;
        continue;
      }
      if (c === quote || (c === '\n' && quote !== '`')) quote = null;
      i++;
    } else if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The imports of one source text (the specifiers as written; `target` left null). */
export function parseImports(source: string): ImportEdge[] {
  const text = stripComments(source);
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(STATIC_IMPORT)) {
    const at = m.index + m[0].indexOf(m[1]!);
    edges.push({ specifier: m[4]!, target: null, dynamic: false, typeOnly: m[2] !== undefined, line: lineAt(text, at) });
  }
  for (const m of text.matchAll(DYNAMIC_IMPORT)) {
    edges.push({ specifier: m[2]!, target: null, dynamic: true, typeOnly: false, line: lineAt(text, m.index) });
  }
  return edges.sort((a, b) => a.line - b.line);
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** The .ts file a relative specifier names, or null when there is none. */
function resolveRelative(fromFile: string, specifier: string): string | null {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts'), base];
  for (const c of candidates) if (c.endsWith('.ts') && existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : listTs(p);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The graph of every .ts file under `dirs` (relative to `root`). */
export function buildImportGraph(root: string, dirs: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of dirs.flatMap((d) => listTs(join(root, d))).sort()) {
    const edges = parseImports(readFileSync(file, 'utf8')).map((e) => {
      if (!e.specifier.startsWith('.')) return e;
      const target = resolveRelative(file, e.specifier);
      return { ...e, target: target === null ? null : toPosix(relative(root, target)) };
    });
    graph.set(toPosix(relative(root, file)), edges);
  }
  return graph;
}

/**
 * Every import cycle among the graph's files, each as the list of files around it (the first
 * file repeated at the end), from Tarjan's strongly connected components: one cycle is
 * reported per component, the shortest through its first file.
 */
export function findCycles(graph: ImportGraph, edgeFilter: (e: ImportEdge) => boolean = () => true): string[][] {
  const next = (f: string): string[] =>
    [...new Set((graph.get(f) ?? []).filter((e) => e.target !== null && graph.has(e.target) && edgeFilter(e)).map((e) => e.target!))];
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = component.length === 1 && next(v).includes(v);
      if (component.length > 1 || selfLoop) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strongConnect(v);

  // The shortest way from a component's first file back to itself, inside the component.
  return components.map((component) => {
    const members = new Set(component);
    const start = component[0]!;
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of next(v).filter((x) => members.has(x))) {
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
          return [...path, start];
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...component, start];
  }).sort((a, b) => a[0]!.localeCompare(b[0]!));
}
