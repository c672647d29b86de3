/**
 * SMTP AUTH XOAUTH2 for relay paths: nodemailer's XOAuth2 driven by our AccessTokenSource
 * (provisionCallback), so relay tokens share the cache, the refresh-on-refusal and the rotated
 * refresh-token store with the IMAP side — nodemailer's own refresh would neither persist a
 * rotated refresh token nor know Microsoft's endpoint.
 */
import type { SMTPConnectionAuth } from 'nodemailer/lib/smtp-connection';
import XOAuth2 from 'nodemailer/lib/xoauth2';
import type { AccessTokenSource } from './access-token-source.js';

/**
 * nodemailer `auth` for SMTPConnection.login(): XOAUTH2 with tokens from `source`. When the
 * relay refuses a token nodemailer asks again with renew=true (once): the refused token is
 * dropped and a refreshed one is handed out.
 */
export function smtpXOAuth2Auth(source: AccessTokenSource, user: string): SMTPConnectionAuth {
  let last: string | null = null;
  const oauth2 = new XOAuth2({
    user,
    provisionCallback: (_user, renew, callback) => {
      if (renew && last !== null) source.invalidate(last);
      source.accessTokenInfo().then(
        ({ token, validUntilMs }) => {
          last = token.reveal();
          // nodemailer reuses the token until then (it compares with Date.now(); the source
          // runs on the system clock in production), then asks again.
          callback(null, last, validUntilMs);
        },
        (err: Error) => callback(err),
      );
    },
  });
  return { user, oauth2 } as SMTPConnectionAuth;
}
