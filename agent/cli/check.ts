import { checkSecrets, type Config } from '../config/load-config.js';
import { formatDuration } from '../config/duration.js';
import { EXIT_ERROR, EXIT_FAILED, EXIT_OK } from '../cli.js';
import { formatTable, loadConfigOrReport } from './common.js';

export interface CheckPlan {
  file: string;
  listen: string;
  dataDir: string;
  schedule: string;
  deadline: string;
  paths: { name: string; mode: 'relay' | 'mx'; target: string; localAddress?: string; headers: string[] }[];
  seeds: {
    name: string;
    address: string;
    provider: string;
    imap: string;
    auth: string;
    spamFolders: string[];
    trashFolders: string[];
    gmailTabs: boolean;
    connectionBudget: number;
  }[];
  secrets: { path: string; source: string; error?: string }[];
}

export function buildPlan(cfg: Config, env: NodeJS.ProcessEnv = process.env): CheckPlan {
  return {
    file: cfg.file,
    listen: cfg.listen,
    dataDir: cfg.dataDirAbs,
    schedule: cfg.schedule,
    deadline: formatDuration(cfg.deadline),
    paths: cfg.paths.map((p) => ({
      name: p.name,
      mode: p.smtp ? 'relay' : 'mx',
      target: p.smtp
        ? `${p.smtp.host}:${p.smtp.port} (${p.smtp.secure ? 'implicit TLS' : p.smtp.requireTLS ? 'STARTTLS required' : 'STARTTLS if offered'})`
        : `MX of each seed's domain, port ${p.mx!.port}${p.mx!.helo ? `, HELO ${p.mx!.helo}` : ''}`,
      localAddress: p.localAddress ?? p.mx?.localAddress,
      headers: Object.keys(p.headers),
    })),
    seeds: cfg.seeds.map((s) => ({
      name: s.name,
      address: s.address,
      provider: s.provider,
      imap: `${s.imap.host}:${s.imap.port}${s.imap.secure ? ' TLS' : ''}`,
      auth: s.imap.auth.kind,
      spamFolders: [
        ...(s.folders.spam ? [`${s.folders.spam} (config)`] : []),
        ...(s.preset.folders.spam.specialUse ? [s.preset.folders.spam.specialUse] : []),
        ...s.preset.folders.spam.names,
      ],
      trashFolders: [
        ...(s.folders.trash ? [`${s.folders.trash} (config)`] : []),
        ...(s.preset.folders.trash.specialUse ? [s.preset.folders.trash.specialUse] : []),
        ...s.preset.folders.trash.names,
      ],
      gmailTabs: s.preset.capabilities.gmailTabs,
      connectionBudget: s.preset.connectionBudget,
    })),
    secrets: checkSecrets(cfg, env),
  };
}

export function printPlan(plan: CheckPlan, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`config ${plan.file}: valid\n`);
  out.write(`listen ${plan.listen}  dataDir ${plan.dataDir}  schedule "${plan.schedule}"  deadline ${plan.deadline}\n\n`);
  out.write(`paths (${plan.paths.length})\n`);
  out.write(
    formatTable(
      ['path', 'mode', 'target', 'source IP', 'extra headers'],
      plan.paths.map((p) => [p.name, p.mode, p.target, p.localAddress ?? '-', p.headers.join(', ') || '-']),
    ),
  );
  out.write(`\nseeds (${plan.seeds.length})\n`);
  out.write(
    formatTable(
      ['seed', 'provider', 'imap', 'auth', 'spam folder (first match wins)', 'tabs', 'max sessions'],
      plan.seeds.map((s) => [
        s.name,
        s.provider,
        s.imap,
        s.auth,
        s.spamFolders.join(' | '),
        s.gmailTabs ? 'X-GM-EXT-1' : '-',
        String(s.connectionBudget),
      ]),
    ),
  );
  out.write(`\nsecrets (${plan.secrets.length})\n`);
  for (const s of plan.secrets) {
    out.write(`  ${s.error ? 'MISSING' : 'ok     '} ${s.path} (${s.source})${s.error ? `: ${s.error.split(': ').pop()}` : ''}\n`);
  }
}

export async function checkCommand(opts: { config: string; connect?: boolean; json?: boolean }): Promise<number> {
  const cfg = loadConfigOrReport(opts.config);
  if (!cfg) return EXIT_ERROR;
  const plan = buildPlan(cfg);
  let failed = plan.secrets.some((s) => s.error);
  if (opts.json) {
    // One JSON document: the plan, and what connecting found.
    let connect: unknown;
    if (opts.connect !== false) {
      const { connectivityReport } = await import('./check-connect.js');
      const r = await connectivityReport(cfg);
      failed = failed || !(r.seeds.every((s) => s.ok) && r.paths.every((p) => p.ok));
      connect = r;
    }
    process.stdout.write(JSON.stringify(connect === undefined ? plan : { ...plan, connect }, null, 2) + '\n');
  } else {
    printPlan(plan);
    if (opts.connect !== false) {
      const { connectivityCheck } = await import('./check-connect.js');
      failed = !(await connectivityCheck(cfg, { json: false })) || failed;
    }
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}
