/** Run every PromQL target of every dashboard panel against a Prometheus, as Grafana would with "All" selected. */
export function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '5m')
    .replace(/\$(provider|path|seed)\b/g, '.*');
}

export async function queryPanelsOf(
  dashboards: { json: object }[],
  promUrl: string,
): Promise<{ total: number; failures: string[]; empty: string[] }> {
  const failures: string[] = [];
  const empty: string[] = [];
  let total = 0;
  for (const d of dashboards) {
    const json = d.json as { title: string; panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    for (const p of json.panels) {
      for (const t of p.targets ?? []) {
        total++;
        const u = new URL('/api/v1/query', promUrl);
        u.searchParams.set('query', substitute(t.expr));
        const r = (await (await fetch(u)).json()) as { status: string; error?: string; data?: { result: unknown[] } };
        if (r.status !== 'success') failures.push(`${json.title} / ${p.title}: ${r.error}`);
        else if (!r.data || r.data.result.length === 0) empty.push(`${json.title} / ${p.title}`);
      }
    }
  }
  return { total, failures, empty };
}
