/**
 * How a sandbox mailbox lets a client in, as a hoodiecrow plugin:
 *   - password mailboxes: hoodiecrow's own LOGIN, with every attempt recorded;
 *   - OAuth2 mailboxes (Outlook, like Microsoft since basic auth was turned off): SASL XOAUTH2
 *     with SASL-IR, the bearer token checked against the sandbox's token endpoint at each
 *     login (hoodiecrow's xoauth2 plugin compares against one fixed token per user, which
 *     cannot follow refreshes); LOGIN is refused ("NO LOGIN failed.", as Outlook answers it).
 * Every attempt is reported to `onLogin` with its mechanism, so tests can tell how a client
 * got in. Never with the secret.
 */
import type { HcConnection, HcParsed, HcServer } from './hoodiecrow.js';

export type LoginMechanism = 'LOGIN' | 'XOAUTH2';

export interface LoginAttempt {
  mechanism: LoginMechanism;
  user: string;
  ok: boolean;
  atMs: number;
}

export type MailboxAuth = { kind: 'password' } | { kind: 'oauth2'; validAccessToken(user: string, token: string): boolean };

export interface AuthPluginOptions {
  /** The one account of this mailbox. */
  user: string;
  auth: MailboxAuth;
  onLogin(attempt: Omit<LoginAttempt, 'atMs'>): void;
}

type Attr = { type?: string; value?: unknown };

function text(value: string) {
  return [{ type: 'TEXT', value }];
}

/** The user and bearer token of an XOAUTH2 initial response, or null when malformed. */
export function parseXoauth2(b64: string): { user: string; token: string } | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  const parts = Buffer.from(b64, 'base64').toString('utf8').split('\x01');
  // "user=<user>" ^A "auth=Bearer <token>" ^A ^A
  if (parts.length !== 4 || parts[2] !== '' || parts[3] !== '') return null;
  const u = /^user=(.+)$/s.exec(parts[0]);
  const a = /^auth=Bearer (.+)$/is.exec(parts[1]);
  if (!u || !a) return null;
  return { user: u[1], token: a[1] };
}

export function authPlugin(opts: AuthPluginOptions): (server: HcServer) => void {
  return (server) => {
    const builtinLogin = server.getCommandHandler('LOGIN');
    const loginUser = (parsed: HcParsed): string => {
      const a = (parsed.attributes?.[0] ?? {}) as Attr;
      return typeof a.value === 'string' ? a.value : '';
    };

    if (opts.auth.kind === 'password') {
      if (!builtinLogin) throw new Error('hoodiecrow has no LOGIN handler');
      server.setCommandHandler('LOGIN', (connection, parsed, data, callback) => {
        const before = connection.state;
        builtinLogin(connection, parsed, data, () => {
          if (before === 'Not Authenticated') {
            opts.onLogin({ mechanism: 'LOGIN', user: loginUser(parsed), ok: connection.state === 'Authenticated' });
          }
          callback();
        });
      });
      return;
    }

    const auth = opts.auth;
    server.setCommandHandler('LOGIN', (connection, parsed, data, callback) => {
      if (connection.state !== 'Not Authenticated') {
        connection.send({ tag: parsed.tag, command: 'BAD', attributes: text('Command received in Invalid state.') }, 'LOGIN FAILED', parsed, data);
        return callback();
      }
      opts.onLogin({ mechanism: 'LOGIN', user: loginUser(parsed), ok: false });
      connection.send({ tag: parsed.tag, command: 'NO', attributes: text('LOGIN failed.') }, 'LOGIN FAILED', parsed, data);
      return callback();
    });

    const notAuthenticated = (c: HcConnection) => c.state === 'Not Authenticated';
    server.registerCapability('AUTH=XOAUTH2', notAuthenticated);
    server.registerCapability('SASL-IR', notAuthenticated);

    const finish = (connection: HcConnection, parsed: HcParsed, data: string, response: string) => {
      const creds = parseXoauth2(response.trim());
      if (!creds) {
        opts.onLogin({ mechanism: 'XOAUTH2', user: '', ok: false });
        connection.send({ tag: parsed.tag, command: 'NO', attributes: text('AUTHENTICATE failed.') }, 'AUTHENTICATE XOAUTH2 FAILED', parsed, data);
        return;
      }
      const ok = creds.user.toLowerCase() === opts.user.toLowerCase() && auth.validAccessToken(creds.user, creds.token);
      opts.onLogin({ mechanism: 'XOAUTH2', user: creds.user, ok });
      if (!ok) {
        connection.send({ tag: parsed.tag, command: 'NO', attributes: text('AUTHENTICATE failed.') }, 'AUTHENTICATE XOAUTH2 FAILED', parsed, data);
        return;
      }
      connection.state = 'Authenticated';
      connection.send({ tag: parsed.tag, command: 'OK', attributes: text('AUTHENTICATE completed.') }, 'AUTHENTICATE XOAUTH2 SUCCESS', parsed, data);
    };

    server.setCommandHandler('AUTHENTICATE XOAUTH2', (connection, parsed, data, callback) => {
      if (connection.state !== 'Not Authenticated') {
        connection.send({ tag: parsed.tag, command: 'BAD', attributes: text('Command received in Invalid state.') }, 'AUTHENTICATE XOAUTH2 FAILED', parsed, data);
        return callback();
      }
      const attrs = (parsed.attributes ?? []) as Attr[];
      if (attrs.length > 1 || (attrs.length === 1 && (typeof attrs[0]?.value !== 'string' || !['ATOM', 'STRING'].includes(attrs[0].type ?? '')))) {
        connection.send({ tag: parsed.tag, command: 'BAD', attributes: text('Command Argument Error. 11') }, 'AUTHENTICATE XOAUTH2 FAILED', parsed, data);
        return callback();
      }
      if (attrs.length === 1) {
        finish(connection, parsed, data, attrs[0].value as string);
        return callback();
      }
      // No initial response: ask for it with an empty continuation (RFC 4959 §3).
      connection.inputHandler = (line: string) => {
        connection.inputHandler = false;
        if (line.trim() === '*') {
          connection.send({ tag: parsed.tag, command: 'BAD', attributes: text('AUTHENTICATE cancelled.') }, 'AUTHENTICATE XOAUTH2 CANCELLED', parsed, data);
          return;
        }
        finish(connection, parsed, data, line);
      };
      if (connection.socket && !connection.socket.destroyed) connection.socket.write('+ \r\n');
      return callback();
    });
  };
}
