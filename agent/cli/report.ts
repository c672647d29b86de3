/**
 * `seedwatch report --config F --week [--format html|md|csv|json] [--out FILE]`: the weekly
 * trend report from the ledger, opened read-only so it can run beside a live agent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { systemClock, type Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import { isWeeklyFormat, renderWeekly, type WeeklyFormat } from '../report/render-weekly.js';
import { weeklyReportFromLedger } from '../report/weekly-report.js';
import { loadConfigOrReport } from './common.js';

export interface ReportOptions {
  config: string;
  /** The last 7 days (the only period so far, hence the default). */
  week?: boolean;
  format: WeeklyFormat;
  out?: string;
}

export interface ReportIo {
  clock?: Clock;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export async function reportCommand(opts: ReportOptions, io: ReportIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const clock = io.clock ?? systemClock;
  if (!isWeeklyFormat(opts.format)) {
    stderr.write(`seedwatch report: --format: expected html, md, csv or json, got "${String(opts.format)}"\n`);
    return EXIT_ERROR;
  }
  const cfg = loadConfigOrReport(opts.config);
  if (!cfg) return EXIT_ERROR;
  const { openReadOnlyLedger } = await import('../agent.js');
  let ledger: Ledger;
  try {
    ledger = openReadOnlyLedger(cfg);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'LEDGER_OPEN') {
      stderr.write(`seedwatch report: ${(err as Error).message} (has the agent run with dataDir ${cfg.dataDirAbs}?)\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
  try {
    const nowMs = clock.nowMs();
    // On a terminal, say what a long report over a large ledger is doing (stderr, one line).
    const tty = (stderr as NodeJS.WriteStream).isTTY === true;
    const progress = tty ? (step: string) => stderr.write(`\r\x1b[Kseedwatch report: ${step}…`) : undefined;
    const report = await weeklyReportFromLedger(ledger, nowMs, progress ? { progress } : {});
    progress?.(`rendering ${opts.format}`);
    const text = renderWeekly(report, opts.format, { generatedAtMs: nowMs }).body;
    if (tty) stderr.write('\r\x1b[K');
    if (opts.out) {
      const out = resolve(opts.out);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, text);
      stderr.write(`wrote ${out}\n`);
    } else {
      stdout.write(text);
    }
    return EXIT_OK;
  } finally {
    await ledger.close();
  }
}
