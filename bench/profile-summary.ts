/**
 * Reads V8 profiles written by the agent under `run.js --profile DIR` and prints where the time
 * (and sampled allocation) went: top self-time functions, and time per owner — ours
 * (dist/agent), imapflow, better-sqlite3, pino, nodemailer, node-cron, other packages, Node's
 * own library, GC, native/program, idle. Node-core frames (streams, sockets, buffers) are also
 * charged to the nearest package frame above them ("on behalf of"), which is what a change in
 * our code can move.
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 30] [--from S] [--to S] [--callers FN [--depth 6]]
 *   node dist/bench/profile-summary.js FILE.heapprofile [--top 30]
 *   node dist/bench/profile-summary.js FILE.heapsnapshot [--top 30]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** Which code a frame belongs to. */
export function ownerOf(cf: CallFrame): string {
  const u = cf.url;
  if (cf.functionName === '(garbage collector)') return 'gc';
  if (cf.functionName === '(idle)') return 'idle';
  if (cf.functionName === '(program)' || cf.functionName === '(root)') return 'program';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (nm) {
    const pkg = nm[1];
    if (pkg === 'pino' || pkg === 'sonic-boom' || pkg === 'fast-redact' || pkg === 'pino-std-serializers' || pkg === 'thread-stream' || pkg === 'quick-format-unescaped' || pkg === 'atomic-sleep') return 'pino';
    if (pkg === 'imapflow' || pkg === '@zone-eu' || pkg === 'libmime' || pkg === 'libbase64' || pkg === 'libqp' || pkg === 'iconv-lite' || pkg === 'encoding-japanese') return 'imapflow';
    if (pkg === 'better-sqlite3' || pkg === 'bindings') return 'sqlite';
    if (pkg === 'nodemailer') return 'nodemailer';
    if (pkg === 'node-cron') return 'node-cron';
    if (pkg === 'prom-client' || pkg === 'bintrees' || pkg === 'tdigest') return 'prom-client';
    if (pkg === 'express' || pkg === 'router' || pkg === 'body-parser' || pkg === 'finalhandler' || pkg === 'send') return 'express';
    if (pkg === 'zod' || pkg === 'yaml') return 'config';
    return `pkg:${pkg}`;
  }
  if (u.includes('/dist/agent/') || u.includes('/agent/')) return 'ours';
  if (u.startsWith('node:') || u === '' || u.startsWith('internal')) return u === '' ? 'native' : 'node';
  return 'other';
}

const CORE = new Set(['node', 'native']);

function pct(x: number, total: number): string {
  return `${((100 * x) / total).toFixed(1)} %`;
}

function frameName(cf: CallFrame): string {
  const file = cf.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '');
  return `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`;
}

/** The samples between fromS and toS seconds after the profile started (a phase of the run). */
export function windowOf(p: CpuProfile, fromS: number, toS: number): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const s = (t - p.startTime) / 1e6;
    if (s >= fromS && s < toS) {
      samples.push(p.samples[i]);
      timeDeltas.push(p.timeDeltas[i] ?? 0);
    }
  }
  return { ...p, samples, timeDeltas, startTime: p.startTime + fromS * 1e6, endTime: Math.min(p.endTime, p.startTime + toS * 1e6) };
}

export function summarizeCpu(p: CpuProfile, top = 30): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const owner = new Map<string, number>();
  const onBehalf = new Map<string, number>();
  const fn = new Map<string, { us: number; owner: string }>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const o = ownerOf(n.callFrame);
    owner.set(o, (owner.get(o) ?? 0) + us);
    let b = o;
    if (CORE.has(o)) {
      for (let q = parent.get(id); q !== undefined; q = parent.get(q)) {
        const qo = ownerOf(byId.get(q)!.callFrame);
        if (!CORE.has(qo) && qo !== 'program') {
          b = qo;
          break;
        }
      }
      if (CORE.has(b)) b = `${o} (event loop / I/O callbacks)`;
    }
    onBehalf.set(b, (onBehalf.get(b) ?? 0) + us);
    const k = frameName(n.callFrame);
    const f = fn.get(k) ?? { us: 0, owner: o };
    f.us += us;
    fn.set(k, f);
  }
  const busy = total - (owner.get('idle') ?? 0);
  const lines: string[] = [];
  lines.push(`profile: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s wall, ${(busy / 1e6).toFixed(2)} s on the main thread (not idle)`);
  lines.push('', 'self time by owner (share of non-idle):');
  for (const [o, us] of [...owner].filter(([o]) => o !== 'idle').sort((a, b) => b[1] - a[1])) lines.push(`  ${o.padEnd(14)} ${(us / 1e6).toFixed(2).padStart(7)} s  ${pct(us, busy)}`);
  lines.push('', 'node-core time charged to the package that called it (share of non-idle):');
  for (const [o, us] of [...onBehalf].filter(([o]) => o !== 'idle').sort((a, b) => b[1] - a[1])) lines.push(`  ${o.padEnd(40)} ${(us / 1e6).toFixed(2).padStart(7)} s  ${pct(us, busy)}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [k, f] of [...fn].filter(([, f]) => f.owner !== 'idle').sort((a, b) => b[1].us - a[1].us).slice(0, top)) {
    lines.push(`  ${(f.us / 1e3).toFixed(0).padStart(7)} ms  ${pct(f.us, busy).padStart(6)}  [${f.owner}] ${k}`);
  }
  return lines.join('\n');
}

export function summarizeHeap(head: HeapNode, top = 30): string {
  const owner = new Map<string, number>();
  const fn = new Map<string, { b: number; owner: string }>();
  let total = 0;
  const walk = (n: HeapNode, charged: string | null) => {
    const o = ownerOf(n.callFrame);
    const c = CORE.has(o) || o === 'program' ? charged : o;
    if (n.selfSize > 0) {
      total += n.selfSize;
      const who = c ?? o;
      owner.set(who, (owner.get(who) ?? 0) + n.selfSize);
      const k = frameName(n.callFrame);
      const f = fn.get(k) ?? { b: 0, owner: o };
      f.b += n.selfSize;
      fn.set(k, f);
    }
    for (const ch of n.children) walk(ch, c);
  };
  walk(head, null);
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const lines = [`sampled live allocations at exit: ${mib(total)} MiB`, '', 'by owner (node-core frames charged to their caller):'];
  for (const [o, b] of [...owner].sort((a, b) => b[1] - a[1])) lines.push(`  ${o.padEnd(30)} ${mib(b).padStart(7)} MiB  ${pct(b, total)}`);
  lines.push('', `top ${top} allocation sites:`);
  for (const [k, f] of [...fn].sort((a, b) => b[1].b - a[1].b).slice(0, top)) lines.push(`  ${mib(f.b).padStart(7)} MiB  ${pct(f.b, total).padStart(6)}  [${f.owner}] ${k}`);
  return lines.join('\n');
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** A heap snapshot (`--heapsnapshot-signal`): shallow size by node type and constructor. */
export function summarizeSnapshot(h: HeapSnapshot, top = 30): string {
  const f = h.snapshot.meta.node_fields;
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const types = h.snapshot.meta.node_types[0];
  const by = new Map<string, { b: number; n: number }>();
  let total = 0;
  for (let i = 0; i < h.nodes.length; i += width) {
    const type = types[h.nodes[i + iType]];
    const size = h.nodes[i + iSize];
    total += size;
    const name = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${h.strings[h.nodes[i + iName]].slice(0, 60)}` : type;
    const e = by.get(name) ?? { b: 0, n: 0 };
    e.b += size;
    e.n += 1;
    by.set(name, e);
  }
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const lines = [`heap snapshot: ${mib(total)} MiB shallow in ${(h.nodes.length / width).toFixed(0)} nodes`, '', `top ${top} by shallow size:`];
  for (const [k, e] of [...by].sort((a, b) => b[1].b - a[1].b).slice(0, top)) lines.push(`  ${mib(e.b).padStart(7)} MiB  ${String(e.n).padStart(8)} x  ${k}`);
  return lines.join('\n');
}

/** Self time of functions named `name`, split by their call stacks (`depth` frames up). */
export function callersOf(p: CpuProfile, name: string, depth = 6, top = 10): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const stacks = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    total += us;
    const chain: string[] = [];
    for (let q = parent.get(id); q !== undefined && chain.length < depth; q = parent.get(q)) chain.push(frameName(byId.get(q)!.callFrame));
    const k = chain.join('\n      < ');
    stacks.set(k, (stacks.get(k) ?? 0) + us);
  }
  const lines = [`${name}: ${(total / 1e3).toFixed(0)} ms self`];
  for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${(us / 1e3).toFixed(0).padStart(6)} ms  < ${k}`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  const arg = (n: string) => {
    const i = process.argv.indexOf(n);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const top = Number(arg('--top') ?? 30);
  if (file.endsWith('.heapsnapshot')) {
    process.stdout.write(summarizeSnapshot(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot, top) + '\n');
    process.exit(0);
  }
  let data = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile | { head: HeapNode };
  if (!('head' in data) && (arg('--from') || arg('--to'))) data = windowOf(data, Number(arg('--from') ?? 0), Number(arg('--to') ?? Infinity));
  const callers = arg('--callers');
  if (callers && !('head' in data)) process.stdout.write(callersOf(data, callers, Number(arg('--depth') ?? 6), top) + '\n');
  else process.stdout.write(('head' in data ? summarizeHeap(data.head, top) : summarizeCpu(data, top)) + '\n');
}
