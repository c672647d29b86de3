/** Number and time formatting shared by the report renderers and the status page. */

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
