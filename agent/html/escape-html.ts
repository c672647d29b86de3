/**
 * The project's one HTML escaper: probe HTML bodies, the status page and the weekly report
 * all escape with it. Values that reach a page come from the internet (subjects, verdicts,
 * SMTP replies), so it escapes for element content and quoted attribute values alike.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
