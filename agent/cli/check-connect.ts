import { secretResolver, type Config } from '../config/load-config.js';
import { OAuth2Tokens } from '../auth/oauth2-tokens.js';
import { systemClock } from '../clock.js';
import { ledgerPath, SqliteLedger } from '../ledger/sqlite-ledger.js';
import { silentLogger } from '../log.js';
import { closePaths, createPaths } from '../send/create-paths.js';
import { verifyPath } from '../send/verify-path.js';
import { inspectSeed, type SeedInspection } from '../watch/inspect-seed.js';
import { formatTable } from './common.js';

export interface ConnectivityReport {
  seeds: SeedInspection[];
  paths: { path: string; ok: boolean; detail: string }[];
}

/** Log into every seed (folder map with the rule that chose each folder, capabilities) and verify every path. */
export async function connectivityReport(cfg: Config, env: NodeJS.ProcessEnv = process.env): Promise<ConnectivityReport> {
  const resolve = secretResolver(cfg, env);
  // The daemon's ledger holds rotated OAuth2 refresh tokens: check uses (and saves) the same.
  const ledger = SqliteLedger.open(ledgerPath(cfg));
  const oauth2 = OAuth2Tokens.withLedger(ledger, cfg.dataDirAbs);
  const seedsP = Promise.all(cfg.seeds.map((s) => inspectSeed(s, resolve, { oauth2 })));
  const paths = createPaths(cfg, resolve, silentLogger(), systemClock, oauth2);
  try {
    const verified = await Promise.all(paths.map((p) => verifyPath(p)));
    return { seeds: await seedsP, paths: verified.map((v, i) => ({ path: paths[i].name, ok: v.ok, detail: v.detail })) };
  } finally {
    await closePaths(paths);
    await seedsP.catch(() => undefined);
    await ledger.close();
  }
}

export function printConnectivity(r: ConnectivityReport, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`\nseed mailboxes (${r.seeds.length})\n`);
  out.write(
    formatTable(
      ['seed', 'login', 'inbox', 'spam', 'trash', 'all mail', 'watched', 'gmail tabs'],
      r.seeds.map((s) => {
        const f = (role: 'inbox' | 'spam' | 'trash' | 'all') => {
          const x = s.folders?.[role];
          return x ? `${x.path} (${x.rule})` : s.ok ? '-' : '';
        };
        return [
          s.seed,
          s.ok ? 'ok' : `FAILED (${s.error?.kind})`,
          f('inbox'),
          f('spam'),
          f('trash'),
          f('all'),
          (s.watched ?? []).map((w) => `${w.path}:${w.via}`).join(', '),
          s.gmailTabs ?? '',
        ];
      }),
    ),
  );
  for (const s of r.seeds) {
    if (!s.ok) out.write(`  ${s.seed}: ${s.error?.message}\n`);
    else out.write(`  ${s.seed} capabilities: ${(s.capabilities ?? []).join(' ')}\n`);
  }
  out.write(`\npaths (${r.paths.length})\n`);
  for (const p of r.paths) out.write(`  ${p.ok ? 'ok    ' : 'FAILED'} ${p.detail}\n`);
}

/**
 * Live part of `seedwatch check`: log into every seed and show its folder map, test every
 * path's SMTP. Returns false when any seed or path failed.
 */
export async function connectivityCheck(cfg: Config, opts: { json: boolean }): Promise<boolean> {
  const r = await connectivityReport(cfg);
  if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else printConnectivity(r);
  return r.seeds.every((s) => s.ok) && r.paths.every((p) => p.ok);
}
