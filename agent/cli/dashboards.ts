import { EXIT_OK } from '../exit-codes.js';

export async function dashboardsCommand(opts: { out: string }): Promise<number> {
  const { writeDashboards } = await import('../../dashboards/src/index.js');
  for (const f of writeDashboards(opts.out)) process.stdout.write(`wrote ${f}\n`);
  return EXIT_OK;
}
