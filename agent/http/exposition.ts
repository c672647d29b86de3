import { Registry } from 'prom-client';

/**
 * Prometheus text by default, OpenMetrics when the scraper asks for it.
 * prom-client switches format per registry and, in OpenMetrics mode, rewrites counter names in
 * place (drops `_total`). So: one render at a time, and the names are restored after each
 * OpenMetrics render, otherwise the next Prometheus-text scrape would lose its `_total`.
 */
export function createExposition(registry: Registry) {
  let chain: Promise<unknown> = Promise.resolve();
  const render = async (openMetrics: boolean): Promise<{ contentType: string; body: string }> => {
    if (!openMetrics) return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await registry.metrics() };
    const names = registry.getMetricsAsArray().map((m) => [m, (m as unknown as { name: string }).name] as const);
    (registry as unknown as Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    try {
      return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: await registry.metrics() };
    } finally {
      registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
      for (const [m, name] of names) (m as unknown as { name: string }).name = name;
    }
  };
  return (accept: string | undefined) => {
    const wantsOpenMetrics = /application\/openmetrics-text/i.test(accept ?? '');
    const next = chain.then(() => render(wantsOpenMetrics));
    chain = next.catch(() => undefined);
    return next;
  };
}
