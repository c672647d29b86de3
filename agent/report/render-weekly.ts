/**
 * The one dispatch from a weekly-report format to its renderer, with what a transport needs
 * to carry the result (content type, a file name). Used by `seedwatch report`, the
 * `/report/weekly` route and the weekly mailer, so a format exists everywhere or nowhere.
 */
import { renderWeeklyCsv } from './weekly-csv.js';
import { renderWeeklyHtml } from './weekly-html.js';
import { renderWeeklyJson } from './weekly-json.js';
import { renderWeeklyMarkdown } from './weekly-markdown.js';
import type { WeeklyReport } from './weekly-report.js';

export const WEEKLY_FORMATS = ['html', 'md', 'csv', 'json'] as const;
export type WeeklyFormat = (typeof WEEKLY_FORMATS)[number];

export function isWeeklyFormat(v: unknown): v is WeeklyFormat {
  return typeof v === 'string' && (WEEKLY_FORMATS as readonly string[]).includes(v);
}

export interface RenderWeeklyOptions {
  /** Replaces "seedwatch weekly report" as the title (HTML and Markdown). */
  title?: string;
  /** When the report was rendered (HTML footer). */
  generatedAtMs?: number;
  /** CSP nonce of the HTML <style> element when served over HTTP. */
  nonce?: string;
  /** Links to the other formats and pages (HTML header). */
  links?: { label: string; href: string }[];
}

export interface RenderedWeekly {
  format: WeeklyFormat;
  body: string;
  contentType: string;
  /** A file name for a download or an attachment: seedwatch-weekly-<end date>.<ext>. */
  filename: string;
}

const CONTENT_TYPES: Record<WeeklyFormat, string> = {
  html: 'text/html; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export function renderWeekly(report: WeeklyReport, format: WeeklyFormat, opts: RenderWeeklyOptions = {}): RenderedWeekly {
  const body = ((): string => {
    switch (format) {
      case 'html':
        return renderWeeklyHtml(report, { title: opts.title, nonce: opts.nonce, links: opts.links, generatedAtMs: opts.generatedAtMs });
      case 'md':
        return renderWeeklyMarkdown(report, { title: opts.title });
      case 'csv':
        return renderWeeklyCsv(report);
      case 'json':
        return renderWeeklyJson(report);
    }
  })();
  const stamp = new Date(report.endMs).toISOString().slice(0, 10);
  return { format, body, contentType: CONTENT_TYPES[format], filename: `seedwatch-weekly-${stamp}.${format}` };
}
