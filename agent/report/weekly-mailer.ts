import { createTask, type ScheduledTask } from 'node-cron';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Clock } from '../clock.js';
import type { Config, SecretResolver } from '../config/load-config.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { renderWeekly } from './render-weekly.js';
import { weeklyReportFromLedger } from './weekly-report.js';

/** Bounds one report delivery (connect to final reply). */
const REPORT_SEND_TIMEOUT_MS = 60_000;

type EmailConfig = NonNullable<Config['report']>['email'];

/**
 * E-mails the weekly report (HTML with inline SVG charts, a Markdown text part, the CSV as an
 * attachment) on its own cron schedule, through its own relay — never through a probe path,
 * whose traffic is what is being measured.
 */
export class WeeklyMailer {
  private task: ScheduledTask | null = null;
  private readonly transport: Transporter;

  constructor(
    private readonly cfg: EmailConfig,
    private readonly deps: { ledger: Ledger; clock: Clock; logger: Logger; resolveSecret: SecretResolver },
  ) {
    const smtp = cfg.smtp;
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTLS,
      tls: { rejectUnauthorized: smtp.tls.rejectUnauthorized, ...(smtp.tls.servername ? { servername: smtp.tls.servername } : {}) },
      ...(smtp.auth?.pass
        ? { auth: { user: smtp.auth.user, pass: deps.resolveSecret(smtp.auth.pass, 'report.email.smtp.auth.pass').reveal() } }
        : {}),
      connectionTimeout: REPORT_SEND_TIMEOUT_MS,
      greetingTimeout: REPORT_SEND_TIMEOUT_MS,
      socketTimeout: REPORT_SEND_TIMEOUT_MS,
    });
  }

  start(): void {
    this.task = createTask(this.cfg.schedule, () => this.sendNow().catch(() => undefined), { name: 'seedwatch-weekly-report' });
    void this.task.start();
  }

  /** Build the report of the 7 days ending now and send it. Resolves with the SMTP reply. */
  async sendNow(): Promise<string> {
    const endMs = this.deps.clock.nowMs();
    try {
      const report = await weeklyReportFromLedger(this.deps.ledger, endMs);
      const csv = renderWeekly(report, 'csv');
      const info = await this.transport.sendMail({
        from: this.cfg.from,
        to: this.cfg.to,
        subject: `${this.cfg.subject} (${new Date(report.startMs).toISOString().slice(0, 10)} to ${new Date(report.endMs - 1).toISOString().slice(0, 10)})`,
        html: renderWeekly(report, 'html').body,
        text: renderWeekly(report, 'md').body,
        attachments: [{ filename: 'seedwatch-weekly.csv', content: csv.body, contentType: csv.contentType }],
      });
      this.deps.logger.info({ to: this.cfg.to.length, response: info.response }, 'weekly report sent');
      return info.response ?? "";
    } catch (err) {
      const e = err as { message?: string; code?: string; responseCode?: number };
      // nodemailer messages carry the server's reply, never the password.
      this.deps.logger.error({ code: e.code, responseCode: e.responseCode, err: e.message }, 'weekly report not sent');
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.task) {
      await this.task.stop();
      await this.task.destroy();
      this.task = null;
    }
    this.transport.close();
  }
}
