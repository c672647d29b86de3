import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface LmtpTarget {
  host: string;
  port: number;
}

export interface LmtpResult {
  accepted: string[];
  rejected: string[];
  response: string;
}

/** Bounds one whole LMTP hand-over (connect, LHLO, envelope, DATA) on loopback. */
const LMTP_DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Deliver one raw message over LMTP. Rejects when any recipient was refused, with the
 * server's response (so a test sees e.g. "550 5.1.1 User doesn't exist").
 */
export function lmtpDeliver(target: LmtpTarget, envelope: { from: string; to: string[] }, raw: string | Buffer): Promise<LmtpResult> {
  return new Promise((resolve, reject) => {
    const conn = new SMTPConnection({
      host: target.host,
      port: target.port,
      lmtp: true,
      name: 'localhost',
      ignoreTLS: true,
      connectionTimeout: LMTP_DELIVERY_TIMEOUT_MS,
      greetingTimeout: LMTP_DELIVERY_TIMEOUT_MS,
      socketTimeout: LMTP_DELIVERY_TIMEOUT_MS,
    });
    let settled = false;
    const finish = (err: Error | null, res?: LmtpResult) => {
      if (settled) return;
      settled = true;
      try {
        conn.quit();
      } catch {
        /* ignore */
      }
      if (err) reject(err);
      else resolve(res!);
    };
    conn.once('error', (err: Error) => finish(err));
    conn.connect(() => {
      conn.send(envelope, raw, (err, info) => {
        if (err) return finish(err);
        const rejected = (info.rejected ?? []).map(String);
        const res: LmtpResult = {
          accepted: (info.accepted ?? []).map(String),
          rejected,
          response: String(info.response ?? ''),
        };
        if (rejected.length) {
          const errs = (info as { rejectedErrors?: Error[] }).rejectedErrors ?? [];
          return finish(new Error(`LMTP rejected ${rejected.join(', ')}: ${errs.map((e) => e.message).join('; ')}`));
        }
        finish(null, res);
      });
    });
  });
}
