/**
 * Inline SVG line charts for the weekly report: no script, no external asset, no style
 * attribute (so a strict Content-Security-Policy needs no 'unsafe-inline' for them).
 * Every label goes through html``, so series names from data are escaped.
 */
import { html, rawHtml, type SafeHtml } from './html.js';

export interface ChartSeries {
  name: string;
  values: (number | null)[];
  dashed?: boolean;
  /** Series sharing a colour group get the same colour (e.g. p50 and p95 of one path). */
  colorGroup?: number;
}

export interface LineChartOptions {
  title: string;
  labels: string[];
  series: ChartSeries[];
  /** Fixed y range; default 0 .. a round number above the largest value. */
  yMax?: number;
  format: (v: number) => string;
}

/** Distinguishable on white, in order; repeats after ten series. */
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4d7c0f', '#9a3412', '#475569'];

const W = 760;
const PLOT_TOP = 14;
const PLOT_H = 200;
const LEFT = 64;
const RIGHT = 18;
const LEGEND_ROW_H = 18;
const LEGEND_COLS = 3;

/** 1, 2 or 5 times a power of ten, at or above v. */
export function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (n: number) => String(Math.round(n * 10) / 10);

export function lineChart(o: LineChartOptions): SafeHtml {
  const max = o.yMax ?? niceCeiling(Math.max(0, ...o.series.flatMap((s) => s.values.filter((v): v is number => v !== null))));
  const plotW = W - LEFT - RIGHT;
  const n = o.labels.length;
  const x = (i: number) => LEFT + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const y = (v: number) => PLOT_TOP + PLOT_H - (Math.min(v, max) / max) * PLOT_H;
  const legendRows = Math.ceil(o.series.length / LEGEND_COLS);
  const height = PLOT_TOP + PLOT_H + 26 + legendRows * LEGEND_ROW_H + 6;

  const grid = [0, 0.2, 0.4, 0.6, 0.8, 1].map(
    (f) => html`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${fmt(y(f * max))}" y2="${fmt(y(f * max))}" class="grid"/><text x="${LEFT - 6}" y="${fmt(y(f * max) + 4)}" text-anchor="end" class="axis">${o.format(f * max)}</text>`,
  );
  const xLabels = o.labels.map((l, i) => html`<text x="${fmt(x(i))}" y="${PLOT_TOP + PLOT_H + 16}" text-anchor="middle" class="axis">${l}</text>`);

  const lines = o.series.map((s, si) => {
    const color = PALETTE[(s.colorGroup ?? si) % PALETTE.length];
    // A null (no data that day) breaks the line instead of drawing it to zero.
    const segments: string[] = [];
    let current: string[] = [];
    s.values.forEach((v, i) => {
      if (v === null) {
        if (current.length) segments.push(current.join(' '));
        current = [];
      } else current.push(`${current.length ? 'L' : 'M'}${fmt(x(i))},${fmt(y(v))}`);
    });
    if (current.length) segments.push(current.join(' '));
    const dash = s.dashed ? rawHtml(' stroke-dasharray="5 4"') : '';
    const points = s.values.map((v, i) =>
      v === null ? '' : html`<circle cx="${fmt(x(i))}" cy="${fmt(y(v))}" r="3" fill="${color}"><title>${s.name} ${o.labels[i]}: ${o.format(v)}</title></circle>`,
    );
    return html`<g class="series">${segments.map((d) => html`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`)}${points}</g>`;
  });

  const legend = o.series.map((s, si) => {
    const color = PALETTE[(s.colorGroup ?? si) % PALETTE.length];
    const lx = LEFT + (si % LEGEND_COLS) * (plotW / LEGEND_COLS);
    const ly = PLOT_TOP + PLOT_H + 36 + Math.floor(si / LEGEND_COLS) * LEGEND_ROW_H;
    const dash = s.dashed ? rawHtml(' stroke-dasharray="5 4"') : '';
    return html`<line x1="${fmt(lx)}" x2="${fmt(lx + 22)}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/><text x="${fmt(lx + 28)}" y="${ly}" class="legend">${s.name}</text>`;
  });

  return html`<figure class="chart"><figcaption>${o.title}</figcaption><svg viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${o.title}" xmlns="http://www.w3.org/2000/svg">${grid}${xLabels}${lines}${legend}</svg></figure>`;
}
