import { checkSecrets, reviewConfigFile, type Config, type ConfigReview, type LoadOptions } from '../config/load-config.js';
import { formatDuration } from '../config/duration.js';
import { PresetError } from '../config/preset.js';
import { EXIT_ERROR, EXIT_FAILED, EXIT_OK } from '../exit-codes.js';
import { formatTable } from './common.js';

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

export function buildPlan(cfg: Config, env: NodeJS.ProcessEnv = process.env, secrets: CheckPlan['secrets'] = checkSecrets(cfg, env)): CheckPlan {
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
    secrets,
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

export interface CheckIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  presets?: LoadOptions['presets'];
}

/**
 * The config review of `check`: every schema, provider and secret problem in one pass. An
 * invalid config prints them all (one per line, naming file and field) and returns null.
 */
function reviewOrReport(file: string, io: Required<Pick<CheckIo, 'stderr' | 'env'>> & CheckIo): ConfigReview & { config: Config } | null {
  let review: ConfigReview;
  try {
    review = reviewConfigFile(file, { env: io.env, ...(io.presets ? { presets: io.presets } : {}) });
  } catch (err) {
    if (!(err instanceof PresetError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return null;
  }
  if (!review.config) {
    const secretProblems = review.secrets.flatMap((s) => (s.error ? [s.error] : []));
    io.stderr.write([...review.problems, ...secretProblems].join('\n') + '\n');
    return null;
  }
  for (const w of review.config.warnings) io.stderr.write(`warning: ${w}\n`);
  return review as ConfigReview & { config: Config };
}

export async function checkCommand(opts: { config: string; connect?: boolean; json?: boolean }, io: CheckIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const review = reviewOrReport(opts.config, { ...io, stderr, env });
  if (!review) return EXIT_ERROR;
  const cfg = review.config;
  const plan = buildPlan(cfg, env, review.secrets);
  let failed = plan.secrets.some((s) => s.error);
  if (opts.json) {
    // One JSON document: the plan, and what connecting found.
    let connect: unknown;
    if (opts.connect !== false) {
      const { connectivityReport } = await import('./check-connect.js');
      const r = await connectivityReport(cfg, env);
      failed = failed || !(r.seeds.every((s) => s.ok) && r.paths.every((p) => p.ok));
      connect = r;
    }
    stdout.write(JSON.stringify(connect === undefined ? plan : { ...plan, connect }, null, 2) + '\n');
  } else {
    printPlan(plan, stdout);
    if (opts.connect !== false) {
      const { connectivityCheck } = await import('./check-connect.js');
      failed = !(await connectivityCheck(cfg, { json: false })) || failed;
    }
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}
