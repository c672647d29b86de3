import type { Config } from '../config/load-config.js';
import type { ConnectivityReport } from '../agent.js';
import type { FolderRole } from '../domain/vocabulary.js';
import { formatTable } from './common.js';

export type { ConnectivityReport };

/** Log into every seed (folder map with the rule that chose each folder, capabilities) and verify every path. */
export async function connectivityReport(cfg: Config, env: NodeJS.ProcessEnv = process.env): Promise<ConnectivityReport> {
  const { connectivity } = await import('../agent.js');
  return connectivity({ config: cfg, env });
}

export function printConnectivity(r: ConnectivityReport, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`\nseed mailboxes (${r.seeds.length})\n`);
  out.write(
    formatTable(
      ['seed', 'login', 'inbox', 'spam', 'trash', 'all mail', 'watched', 'gmail tabs'],
      r.seeds.map((s) => {
        const f = (role: FolderRole) => {
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
