import type { WeeklyReport } from './weekly-report.js';

/** Version of the JSON document's shape; bump when a field changes meaning or goes away. */
export const WEEKLY_JSON_SCHEMA = 'seedwatch.weekly-report/v1';

/** The report as one JSON document: every field of WeeklyReport, plus ISO renderings of its bounds. */
export function renderWeeklyJson(report: WeeklyReport): string {
  const doc = {
    schema: WEEKLY_JSON_SCHEMA,
    start: new Date(report.startMs).toISOString(),
    end: new Date(report.endMs).toISOString(),
    previousStart: new Date(report.previousStartMs).toISOString(),
    ...report,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
