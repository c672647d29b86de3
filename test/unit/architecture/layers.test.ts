// Layering rules of the code base, read from the import statements of the sources:
// ARCHITECTURE.md's level picture and "may import" table are exactly what the code imports,
// the demo sandbox stays outside the product (only the demo command loads it, lazily), the
// domain does no I/O, config needs nothing of the layers that use it, the CLI constructs
// nothing, no code branches on a provider name, and no import cycle joins agent/,
// dashboards/src and sandbox/.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImportGraph, findCycles, parseImports, type ImportEdge, type ImportGraph } from './import-graph.js';
import { readArchitectureDoc, unitOf } from './architecture-doc.js';
import { providerNameUses } from './provider-name-uses.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const graph = buildImportGraph(root, ['agent', 'dashboards/src', 'sandbox', 'bench']);

/** The only file of the product allowed to load the sandbox, and only with `import(…)`. */
const DEMO_COMMAND = 'agent/cli/demo.ts';

/**
 * config/ loads and validates; it must not depend on the layers that use the config.
 * Pending exceptions (none today) must shrink: the test fails on an entry that no longer exists.
 */
const CONFIG_FORBIDDEN_DIRS = ['agent/send', 'agent/report'];
const PENDING_CONFIG_EDGES: ReadonlyArray<{ from: string; to: string }> = [];

/** Modules that do I/O (network, files, databases, servers): the domain layer imports none. */
const IO_MODULES = [
  'imapflow',
  'nodemailer',
  'better-sqlite3',
  'pg',
  'express',
  'smtp-server',
  'node:fs',
  'node:net',
  'node:http',
  'node:dns',
  'node:https',
  'node:http2',
  'node:tls',
  'node:dgram',
  'node:child_process',
];

/** `fs`, `node:fs`, `node:fs/promises`, `nodemailer/lib/…` all count as the module. */
function isIoModule(specifier: string): boolean {
  const bare = specifier.startsWith('node:') ? specifier : IO_MODULES.includes(`node:${specifier.split('/')[0]}`) ? `node:${specifier}` : specifier;
  return IO_MODULES.some((m) => bare === m || bare.startsWith(`${m}/`));
}

const within = (dir: string) => (file: string) => file.startsWith(`${dir}/`);
const describeEdge = (file: string, e: ImportEdge) =>
  `${file}:${e.line} ${e.dynamic ? 'import(' : 'import '}'${e.specifier}'${e.dynamic ? ')' : ''}`;

describe('the import-graph walker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-layers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it('reads every kind of import and export-from, and skips comments', () => {
    const edges = parseImports(
      [
        "import { a,",
        "  b } from './multi.js';",
        "import type { T } from '../types.js';",
        "import './side-effect.js';",
        "export * from './all.js';",
        "export { x } from 'pkg';",
        "// import { no } from './commented.js';",
        "/* export * from './block-commented.js'; */",
        "const url = 'http://example.com'; // import('./after-a-string.js')",
        "export const from = 'not-an-import';",
        "const m = await import('./lazy.js');",
      ].join('\n'),
    );
    expect(edges.map((e) => [e.specifier, e.line, e.dynamic, e.typeOnly])).toEqual([
      ['./multi.js', 1, false, false],
      ['../types.js', 3, false, true],
      ['./side-effect.js', 4, false, false],
      ['./all.js', 5, false, false],
      ['pkg', 6, false, false],
      ['./lazy.js', 11, true, false],
    ]);
  });

  it('resolves .js specifiers to .ts files and reports each cycle with its files', () => {
    write('src/a.ts', "import { b } from './b.js';\nexport const a = 1;\n");
    write('src/b.ts', "import type { C } from './sub/c.js';\nexport const b = 2;\n");
    write('src/sub/c.ts', "export type C = number;\nexport const load = () => import('../a.js');\n");
    write('src/d.ts', "import { a } from './a.js';\nimport { e } from './e.js';\n");
    write('src/e.ts', "export { d } from './d.js';\nexport const e = 1;\n");
    write('src/f.ts', "import { readFileSync } from 'node:fs';\nimport { a } from './a.js';\n");
    const g = buildImportGraph(dir, ['src']);
    expect([...g.keys()]).toEqual(['src/a.ts', 'src/b.ts', 'src/d.ts', 'src/e.ts', 'src/f.ts', 'src/sub/c.ts']);
    expect(g.get('src/f.ts')!.map((e) => e.target)).toEqual([null, 'src/a.ts']);
    expect(findCycles(g)).toEqual([
      ['src/a.ts', 'src/b.ts', 'src/sub/c.ts', 'src/a.ts'],
      ['src/d.ts', 'src/e.ts', 'src/d.ts'],
    ]);
    // Without dynamic and type-only edges only the d ↔ e cycle loads at run time.
    expect(findCycles(g, (e) => !e.dynamic && !e.typeOnly)).toEqual([['src/d.ts', 'src/e.ts', 'src/d.ts']]);
  });

  it('sees the sources of this repository', () => {
    for (const dirName of ['agent/', 'dashboards/src/', 'sandbox/', 'bench/']) {
      expect([...graph.keys()].some((f) => f.startsWith(dirName)), dirName).toBe(true);
    }
    const unresolved = [...graph].flatMap(([f, es]) => es.filter((e) => e.specifier.startsWith('.') && e.target === null).map((e) => describeEdge(f, e)));
    expect(unresolved).toEqual([]);
  });
});

describe('ARCHITECTURE.md matches the imports', () => {
  const doc = readArchitectureDoc(readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8'));
  const units = [...new Set([...graph.keys()].map(unitOf).filter((u): u is string => u !== null))].sort();
  /** Every import from one unit into another (type-only and lazy ones included). */
  const crossings = [...graph].flatMap(([file, edges]) => {
    const from = unitOf(file);
    return from === null
      ? []
      : edges.flatMap((e) => {
          const to = e.target === null ? null : unitOf(e.target);
          return to === null || to === from ? [] : [{ file, e, from, to }];
        });
  });
  const where = (c: (typeof crossings)[number]) => `${describeEdge(c.file, c.e)} (${c.from} → ${c.to})`;

  it('the walker finds the units and the crossings the rules are about', () => {
    for (const u of ['agent/agent.ts', 'agent/cli/', 'agent/domain/', 'agent/watch/', 'dashboards/src/', 'sandbox/']) expect(units).toContain(u);
    expect(crossings.some((c) => c.from === 'agent/cli/' && c.to === 'agent/agent.ts' && c.e.dynamic)).toBe(true);
    expect(crossings.some((c) => c.e.typeOnly)).toBe(true);
  });

  it('the table has one row for every unit (folder of agent/, file directly under it, dashboards/src/, sandbox/)', () => {
    const rowUnits = doc.rules.flatMap((r) => r.units);
    expect(rowUnits.filter((u, i) => rowUnits.indexOf(u) !== i)).toEqual([]);
    expect([...rowUnits].sort()).toEqual(units);
  });

  it('every import crosses into a unit its row allows, type-only or lazily where the row says so', () => {
    const offenders = crossings.flatMap((c) => {
      const rule = doc.rules.find((r) => r.units.includes(c.from));
      if (!rule || rule.allowed === null) return [];
      const entry = rule.allowed.find((a) => a.unit === c.to);
      if (!entry) return [`${where(c)}: not in the table`];
      if (entry.typesOnly && !c.e.typeOnly) return [`${where(c)}: the table says (types)`];
      if (entry.lazily && !c.e.typeOnly && !c.e.dynamic) return [`${where(c)}: the table says (lazily)`];
      return [];
    });
    expect(offenders).toEqual([]);
  });

  it('every entry of the table is imported, and exactly as its note says (no stale or loose entry)', () => {
    const stale = doc.rules.flatMap((rule) =>
      (rule.allowed ?? []).flatMap((a) => {
        const used = crossings.filter((c) => rule.units.includes(c.from) && c.to === a.unit);
        const loading = used.filter((c) => !c.e.typeOnly);
        const row = `${rule.units.join(', ')} → ${a.unit}`;
        if (used.length === 0) return [`${row}: never imported`];
        if (!a.typesOnly && loading.length === 0) return [`${row}: only type imports; say (types)`];
        if (!a.lazily && !a.typesOnly && loading.every((c) => c.e.dynamic)) return [`${row}: only import(…); say (lazily)`];
        if (a.lazily && !loading.some((c) => c.e.dynamic)) return [`${row}: says (lazily) but has no import(…)`];
        return [];
      }),
    );
    expect(stale).toEqual([]);
  });

  it('the level picture holds every unit once, and every import points to a lower line (so no two folders import each other)', () => {
    const pictured = doc.levels.flat();
    expect(pictured.filter((u, i) => pictured.indexOf(u) !== i)).toEqual([]);
    expect([...pictured].sort()).toEqual(units);
    const level = new Map(doc.levels.flatMap((line, i) => line.map((u) => [u, i] as const)));
    const upwards = crossings.filter((c) => level.get(c.to)! <= level.get(c.from)!).map(where);
    expect(upwards).toEqual([]);
  });
});

describe('the demo sandbox stays outside the product', () => {
  it('no file under agent/, dashboards/src or bench/ imports sandbox/, except the lazy import(…) of the demo command', () => {
    const offenders = [...graph]
      .filter(([file]) => !within('sandbox')(file))
      .flatMap(([file, edges]) =>
        edges
          .filter((e) => e.target !== null && within('sandbox')(e.target))
          .filter((e) => !(file === DEMO_COMMAND && e.dynamic))
          .map((e) => describeEdge(file, e)),
      );
    expect(offenders).toEqual([]);
  });

  it('the demo command does load the sandbox, lazily', () => {
    const lazy = (graph.get(DEMO_COMMAND) ?? []).filter((e) => e.dynamic && e.target !== null && within('sandbox')(e.target));
    expect(lazy.map((e) => e.target)).toContain('sandbox/start-sandbox.ts');
  });
});

describe('the config layer', () => {
  const isPending = (file: string, e: ImportEdge) => PENDING_CONFIG_EDGES.some((p) => p.from === file && p.to === e.target);

  it('imports nothing from send/ or report/', () => {
    const offenders = [...graph]
      .filter(([file]) => within('agent/config')(file))
      .flatMap(([file, edges]) =>
        edges
          .filter((e) => e.target !== null && CONFIG_FORBIDDEN_DIRS.some((d) => within(d)(e.target!)) && !isPending(file, e))
          .map((e) => describeEdge(file, e)),
      );
    expect(offenders).toEqual([]);
  });

  it('every pending exception still exists (remove the entry once its import is gone)', () => {
    const stale = PENDING_CONFIG_EDGES.filter((p) => !(graph.get(p.from) ?? []).some((e) => e.target === p.to));
    expect(stale).toEqual([]);
  });
});

describe('the domain layer', () => {
  const domainFiles = [...graph.keys()].filter(within('agent/domain'));

  it('exists', () => {
    expect(domainFiles).toContain('agent/domain/vocabulary.ts');
  });

  it('imports no I/O module, directly or through the modules it loads', () => {
    const offenders: string[] = [];
    for (const start of domainFiles) {
      // Breadth-first over the modules loaded at run time (type-only imports load nothing),
      // plus the domain file's own imports of any kind.
      const via = new Map<string, string[]>([[start, [start]]]);
      const queue = [start];
      while (queue.length > 0) {
        const file = queue.shift()!;
        for (const e of graph.get(file) ?? []) {
          if (e.typeOnly && file !== start) continue;
          if (isIoModule(e.specifier)) offenders.push(`${[...via.get(file)!, e.specifier].join(' → ')} (${file}:${e.line})`);
          if (e.target !== null && !e.typeOnly && !via.has(e.target)) {
            via.set(e.target, [...via.get(file)!, e.target]);
            queue.push(e.target);
          }
        }
      }
    }
    expect([...new Set(offenders)]).toEqual([]);
  });

  it('the I/O rule recognises the modules in all their spellings', () => {
    for (const s of ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:http', 'http', 'dns/promises', 'pg', 'imapflow', 'nodemailer/lib/smtp-connection', 'smtp-server', 'express', 'better-sqlite3']) {
      expect(isIoModule(s), s).toBe(true);
    }
    for (const s of ['node:crypto', 'node:path', 'zod', 'pgp', 'expressive', 'node:https-proxy']) expect(isIoModule(s), s).toBe(false);
  });
});

describe('import cycles among agent/, dashboards/src and sandbox/', () => {
  it('there is none (static, dynamic and type-only imports alike)', () => {
    const scoped: ImportGraph = new Map([...graph].filter(([f]) => !within('bench')(f)));
    const cycles = findCycles(scoped).map((c) => c.join(' → '));
    expect(cycles).toEqual([]);
  });
});

describe('the CLI layer parses arguments and prints', () => {
  /** What only the composition root (agent/agent.ts) may construct. */
  const CONSTRUCTING = ['agent/ledger', 'agent/send', 'agent/watch', 'agent/auth', 'agent/metrics', 'agent/http', 'agent/schedule', 'sandbox'];
  const LIBRARIES = ['imapflow', 'nodemailer', 'better-sqlite3', 'pg', 'express', 'smtp-server'];

  it('imports no ledger, path, watcher, token store, server or their libraries (types excepted)', () => {
    const offenders = [...graph]
      .filter(([file]) => within('agent/cli')(file) || file === 'agent/cli.ts')
      .flatMap(([file, edges]) =>
        edges
          .filter((e) => !e.typeOnly)
          .filter((e) => !(file === DEMO_COMMAND && e.dynamic && e.target !== null && within('sandbox')(e.target)))
          .filter((e) => (e.target !== null && CONSTRUCTING.some((d) => within(d)(e.target!))) || LIBRARIES.some((l) => e.specifier === l || e.specifier.startsWith(`${l}/`)))
          .map((e) => describeEdge(file, e)),
      );
    expect(offenders).toEqual([]);
  });
});

describe('providers are data', () => {
  const names = readdirSync(join(root, 'seed-accounts/providers'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''));

  it('the rule sees comparisons, membership tests and lookups by a preset name, and nothing else', () => {
    const source = [
      "if (seed.provider === 'outlook') x();", // 1
      "if ('gmail' !== p) x();", // 2
      "switch (p) { case `yahoo`: break; }", // 3
      "const ms = ['outlook', 'gmail'].includes(provider);", // 4: membership in a literal list
      "if (providers.includes('outlook')) x();", // 5
      'const hosts = RECEIVED_HOSTS["outlook"];', // 6
      "const t = presets.get('gmail')!.tokenUrl;", // 7
      "if ('gmail' in tokenUrls) x();", // 8
      "const s = scopes.outlook;", // 9
      "const c = cfg?.gmail ?? null;", // 10
      "const host = 'smtp.outlook.com';", // 11: a host name in a string
      "// if (provider === 'outlook') in a comment", // 12
      "const list = ['outlook'];", // 13: data, not a branch
      "const tokens = { outlook: token };", // 14: data handed on
      "const outlookToken = read('outlook');", // 15: a call argument
      "const u = `https://login.gmail.com/${x.outlook}`;", // 16: inside a template (not seen; documented)
      "if (seen.has('yahoo')) x();", // 17
    ].join('\n');
    expect(providerNameUses(source, names).map((u) => `${u.line} ${u.name}`)).toEqual([
      '1 outlook',
      '2 gmail',
      '3 yahoo',
      '4 gmail',
      '4 outlook',
      '5 outlook',
      '6 outlook',
      '7 gmail',
      '8 gmail',
      '9 outlook',
      '10 gmail',
      '17 yahoo',
    ]);
  });

  it('nothing under agent/ compares against, tests membership of, or looks up by a provider preset name', () => {
    expect(names).toContain('outlook');
    const offenders = [...graph.keys()]
      .filter(within('agent'))
      .flatMap((file) => providerNameUses(readFileSync(join(root, file), 'utf8'), names).map((u) => `${file}:${u.line}: ${u.text}`));
    expect(offenders).toEqual([]);
  });
});
