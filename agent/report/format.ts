/** Number and time formatting shared by the report renderers and the status page. */
import type { PathVerdict } from '../domain/placement-matrix.js';

/** A 0..1 share as a percentage with one decimal ("90.0%"); "–" when there is no denominator. */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined) return '–';
  return `${(share * 100).toFixed(1)}%`;
}

/** A change in percentage points, signed ("+10.0 pp", "−30.0 pp", "±0.0 pp"). */
export function formatPp(pp: number | null | undefined): string {
  if (pp === null || pp === undefined) return '–';
  const r = Math.round(pp * 10) / 10;
  if (r === 0) return '±0.0 pp';
  return `${r > 0 ? '+' : '−'}${Math.abs(r).toFixed(1)} pp`;
}

/** A latency: "850 ms", "4.2 s", "3.5 min", "1.2 h". */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** "2026-11-23 11:59:05 UTC". */
export function formatUtc(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "11:59:05.123" (UTC), for the four timestamps of one probe. */
export function formatUtcTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return new Date(ms).toISOString().slice(11, 23);
}

/** "45 s ago", "12 min ago", "3 h ago", "2 d ago". */
export function formatAgo(ms: number | null | undefined, nowMs: number): string {
  if (ms === null || ms === undefined) return '–';
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/**
 * One bound of a share's interval: whole percent, one decimal near the ends where a whole
 * number would round to 0 or 100 what is not ("0.4", "31", "99.6"; exactly 0 and 100 as such).
 */
function bound(v: number): string {
  const pc = v * 100;
  if (pc === 0 || pc === 100) return String(pc);
  return pc < 10 || pc > 90 ? pc.toFixed(1) : String(Math.round(pc));
}

/** A share's 95 % interval: "4.3–31%" (3 of 24); "–" when there is none. */
export function formatInterval(iv: readonly [number, number] | null | undefined): string {
  if (!iv) return '–';
  return `${bound(iv[0])}–${bound(iv[1])}%`;
}

/** A share with its interval, "12.5% (4.3–31%)" (3 of 24); the bare share when there are too few probes. */
export function formatShareInterval(share: number | null | undefined, iv: readonly [number, number] | null | undefined, tooFew: boolean): string {
  if (share === null || share === undefined) return '–';
  return tooFew || !iv ? formatPercent(share) : `${formatPercent(share)} (${formatInterval(iv)})`;
}

/** Shown (muted) instead of intervals below the minimum count of probes. */
export const TOO_FEW_PROBES = 'too few probes';

/** "p = 0.003", "p = 0.41", "p < 0.001". */
export function formatPValue(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  return `p = ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

/** A difference of shares in points with its interval: "+12.0 pp (4.0–20.0 pp)", "+1.4 pp (−3.0 to +6.1 pp)". */
export function formatDiffInterval(diff: number, low: number, high: number): string {
  const pp = (v: number) => formatPp(v * 100);
  const plain = (v: number) => (Math.round(v * 1000) / 10).toFixed(1);
  const range = low >= 0 ? `${plain(low)}–${plain(high)} pp` : `${pp(low).replace(' pp', '')} to ${pp(high)}`;
  return `${pp(diff)} (${range})`;
}

/** A path against its provider's best path, as a sentence a reader acts on. */
export function describePathComparison(c: {
  provider: string;
  key: string;
  path: string;
  bestPath: string;
  diff: number;
  low: number;
  high: number;
  p: number;
  verdict: PathVerdict;
}): string {
  const v = c.verdict;
  const verdict = v === 'worse' ? `is worse than ${c.bestPath}` : v === 'unclear' ? `may be worse than ${c.bestPath}` : `is not distinguishable from ${c.bestPath}`;
  // Both numbers are printed: when they disagree, say so rather than pick one.
  const note = v === 'unclear' ? ' (interval and test disagree)' : '';
  return `${c.path} ${verdict} for ${c.provider}: ${c.key} ${formatDiffInterval(c.diff, c.low, c.high)}, ${formatPValue(c.p)}${note}`;
}
