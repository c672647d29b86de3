/**
 * The baseline of the benchmark: what the existing open-source inbox-placement exporters do.
 * Every interval it logs in to every seed (a few at a time), LISTs the folders, SELECTs each
 * one, searches it for probes, fetches the new ones' probe header, and logs out. No session
 * is kept. Runs as its own process so /proc shows its CPU and memory alone.
 *
 *   node dist/bench/baseline-poller.js SPEC.json
 *   SPEC: { port, users: [{ user, password }], intervalMs, concurrency }
 * stdout: one JSON object a line: {type:'primed'} after the first round (which only learns
 * what is already there), then {type:'seen', id, atMs} per new probe and {type:'round', ...}.
 */
import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';

interface Spec {
  port: number;
  users: { user: string; password: string }[];
  intervalMs: number;
  concurrency: number;
}

/** Bounds one login-search-logout visit of one seed. */
const VISIT_TIMEOUT_MS = 30_000;

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Spec;
const known = new Set<string>();
let stopping = false;
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

async function visit(u: { user: string; password: string }, report: boolean): Promise<number> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: spec.port,
    secure: false,
    auth: { user: u.user, pass: u.password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: VISIT_TIMEOUT_MS,
    greetingTimeout: VISIT_TIMEOUT_MS,
    socketTimeout: VISIT_TIMEOUT_MS,
  });
  client.on('error', () => undefined);
  let found = 0;
  await client.connect();
  try {
    for (const box of await client.list()) {
      if (box.flags?.has('\\Noselect')) continue;
      await client.mailboxOpen(box.path, { readOnly: true });
      const uids = await client.search({ header: { 'x-seedwatch-probe': '' } }, { uid: true });
      if (!uids || uids.length === 0) continue;
      for await (const msg of client.fetch(uids.join(','), { uid: true, headers: ['x-seedwatch-probe'] }, { uid: true })) {
        const m = /x-seedwatch-probe:\s*(\S+)/i.exec(msg.headers?.toString('latin1') ?? '');
        if (!m || known.has(m[1])) continue;
        known.add(m[1]);
        found++;
        if (report) emit({ type: 'seen', id: m[1], atMs: Date.now() });
      }
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return found;
}

async function round(report: boolean): Promise<void> {
  const startedAtMs = Date.now();
  let next = 0;
  let errors = 0;
  const worker = async () => {
    while (next < spec.users.length && !stopping) {
      const u = spec.users[next++];
      try {
        await visit(u, report);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.users.length) }, worker));
  emit({ type: 'round', startedAtMs, durationMs: Date.now() - startedAtMs, logins: spec.users.length, errors });
}

process.once('SIGTERM', () => {
  stopping = true;
});

await round(false);
emit({ type: 'primed' });
while (!stopping) {
  const t0 = Date.now();
  await round(true);
  // Every intervalMs from the start of the previous round; no pause when a round overran.
  const wait = spec.intervalMs - (Date.now() - t0);
  if (wait > 0 && !stopping) await new Promise((r) => setTimeout(r, wait));
}
process.exit(0);
