import { EXIT_ERROR, EXIT_OK } from '../cli.js';

export async function dashboardsCommand(opts: { out: string }): Promise<number> {
  let mod: { writeDashboards(outDir: string): string[] };
  try {
    const entry = '../../dashboards/src/index.js'; // compiled next to this file in dist/
    mod = (await import(entry)) as typeof mod;
  } catch (err) {
    process.stderr.write(`seedwatch dashboards: not available yet (issue 6, the monitoring mixin): ${(err as Error).message}\n`);
    return EXIT_ERROR;
  }
  for (const f of mod.writeDashboards(opts.out)) process.stdout.write(`wrote ${f}\n`);
  return EXIT_OK;
}
