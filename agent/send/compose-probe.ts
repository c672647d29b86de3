import DKIM from 'nodemailer/lib/dkim';
import MailComposer from 'nodemailer/lib/mail-composer';
import addressparser from 'nodemailer/lib/addressparser';
import { createPrivateKey, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Config } from '../config/load-config.js';
import type { SecretValue } from '../config/secret.js';
import { PROBE_HEADER, probeBodyToken } from '../probe-id.js';
import { escapeHtml } from '../html/escape-html.js';
import { renderTemplate, TemplateError, type TemplateValues } from '../template/render-template.js';

export type ProbeSettings = Config['probe'];

export interface ComposeProbeInput {
  probe: ProbeSettings;
  /** The path: its name, its index in `paths` (for field names in errors) and its extra headers. */
  path: { name: string; index: number; headers: Record<string, string> };
  seed: { name: string; address: string };
  id: string;
  nowMs: number;
  /** The resolved probe.dkim.privateKey, required when probe.dkim is set. */
  dkimPrivateKey?: SecretValue;
}

export interface ComposedProbe {
  id: string;
  /** With angle brackets: `<ID@sender-domain>`. */
  messageId: string;
  subject: string;
  envelope: { from: string; to: string };
  /** The complete RFC 5322 message, DKIM-signed when configured. */
  raw: Buffer;
}

/** Headers seedwatch itself owns; a path may not override them. */
const RESERVED_HEADERS = new Set(
  ['message-id', PROBE_HEADER.toLowerCase(), 'from', 'to', 'subject', 'date', 'mime-version', 'content-type',
    'content-transfer-encoding', 'dkim-signature', 'list-unsubscribe', 'list-unsubscribe-post'],
);
const HEADER_NAME_RE = /^[!-9;-~]+$/;

/**
 * Build one probe mail. The id travels three ways (Message-ID, X-Seedwatch-Probe, body token in
 * both text and HTML) so a provider that rewrites one of them does not lose the probe.
 * Throws TemplateError (code TEMPLATE_INVALID) naming the config field for bad input.
 */
export async function composeProbe(input: ComposeProbeInput, opts: { template?: boolean } = {}): Promise<ComposedProbe> {
  const { probe, seed, id } = input;
  const { mail, messageId, subject, from, values } = probeMail(input);
  // `template: false` composes in full (what a template is checked against).
  let raw = opts.template === false ? null : await fromTemplate(input, mail.date, values.date);
  if (raw === null) raw = await new MailComposer(mail).compile().build();

  if (probe.dkim) {
    if (!input.dkimPrivateKey) throw new TemplateError('probe.dkim.privateKey', 'the private key was not resolved');
    const pem = input.dkimPrivateKey.reveal();
    try {
      // nodemailer's signer skips a key it cannot use and sends the mail unsigned; check first.
      createPrivateKey(pem);
    } catch (err) {
      // The key itself never goes into the message: only what kind of failure it was.
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new TemplateError('probe.dkim.privateKey', `cannot sign with this key (not a PEM private key: ${code})`);
    }
    const signer = new DKIM({ domainName: probe.dkim.domain, keySelector: probe.dkim.selector, privateKey: pem });
    raw = await collect(signer.sign(raw));
    if (!/^DKIM-Signature:/im.test(raw.subarray(0, 4096).toString('latin1'))) {
      throw new TemplateError('probe.dkim.privateKey', 'cannot sign with this key (no signature was produced)');
    }
  }
  return { id, messageId, subject, envelope: { from, to: seed.address }, raw };
}

/** The probe's mail options for nodemailer's composer, validated (TemplateError names the field). */
function probeMail(input: ComposeProbeInput) {
  const { probe, path, seed, id } = input;
  const from = senderAddress(probe.from);
  const domain = from.slice(from.lastIndexOf('@') + 1);
  const messageId = `<${id}@${domain}>`;
  const date = new Date(input.nowMs);
  const values: TemplateValues = { id, path: path.name, seed: seed.name, date: formatDate(date) };
  const token = probeBodyToken(id);

  const subject = oneLine(renderTemplate(probe.subject, values, 'probe.subject'), 'probe.subject');
  const unsubscribe =
    probe.listUnsubscribe !== undefined
      ? oneLine(renderTemplate(probe.listUnsubscribe, values, 'probe.listUnsubscribe'), 'probe.listUnsubscribe')
      : undefined;
  if (unsubscribe !== undefined && !/^(https:\/\/|mailto:)\S+$/i.test(unsubscribe)) {
    throw new TemplateError('probe.listUnsubscribe', 'expected an https: URL or a mailto: address');
  }

  let text: string | undefined;
  let html: string | undefined;
  if (probe.text === undefined && probe.html === undefined) {
    text = defaultText(values, unsubscribe);
    html = defaultHtml(values, unsubscribe);
  } else {
    if (probe.text !== undefined) text = renderTemplate(probe.text, values, 'probe.text');
    if (probe.html !== undefined) html = renderTemplate(probe.html, values, 'probe.html', escapeHtml);
  }
  if (text !== undefined && !text.includes(token)) text = `${text.replace(/\s+$/, '')}\n\n--\nRef: ${token}\n`;
  if (html !== undefined && !html.includes(token)) {
    const ref = `<p style="color:#8a8a8a;font-size:11px">Ref: ${token}</p>`;
    html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${ref}</body>`) : `${html}\n${ref}`;
  }

  const headers: Record<string, string> = { [PROBE_HEADER]: id };
  for (const [name, template] of Object.entries(path.headers)) {
    const field = `paths[${path.index}].headers.${name}`;
    if (!HEADER_NAME_RE.test(name)) throw new TemplateError(field, 'invalid header name');
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new TemplateError(field, 'reserved header (seedwatch sets it)');
    headers[name] = oneLine(renderTemplate(template, values, field), field);
  }
  if (unsubscribe !== undefined) {
    headers['List-Unsubscribe'] = `<${unsubscribe}>`;
    // RFC 8058 one-click: only meaningful for an https URL (Gmail and Yahoo require it of bulk senders).
    if (/^https:/i.test(unsubscribe)) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }

  const mail = {
    from: probe.from,
    to: seed.address,
    subject,
    ...(text !== undefined ? { text } : {}),
    ...(html !== undefined ? { html } : {}),
    messageId,
    date,
    headers,
  };
  return { mail, messageId, subject, from, values };
}

/** The message without DKIM and without a template, with a given multipart boundary. */
async function composeRaw(input: ComposeProbeInput, baseBoundary: string): Promise<Buffer> {
  const { mail } = probeMail(input);
  return new MailComposer({ ...mail, baseBoundary } as typeof mail).compile().build();
}

/*
 * Probe templates. Composing a probe through nodemailer's MIME tree costs ~1.1 ms of CPU (a
 * quarter of the agent's CPU per probe at 500 seeds, docs/benchmark.md "Profile"), while two
 * probes of one path × seed on one day differ only in their id and their Date header, both of
 * fixed length. So the first probe of a path × seed × day composes the message twice, with two
 * different placeholder ids of the id's length (and one boundary), and keeps it as a template
 * only if replacing each placeholder by a third string gives the same bytes: then every byte
 * that depends on the id is exactly an occurrence of the placeholder (no encoding or line
 * folding placed it differently). Later probes are the template with the placeholder replaced
 * by their id and the Date header by theirs. Anything else (a subject that needs RFC 2047
 * encoding around the id, a Date header not found once) is composed in full, every time.
 */
const PLACEHOLDER_A = '7ZZZZZZZZZZZZZZZZZZZZZZZZZ';
const PLACEHOLDER_B = '7YYYYYYYYYYYYYYYYYYYYYYYYY';
const PLACEHOLDER_CHECK = '7XXXXXXXXXXXXXXXXXXXXXXXXX';

interface ProbeTemplate {
  /** The message composed with PLACEHOLDER_A, as latin1 text (byte for byte). */
  text: string;
  /** Its Date header line, "\r\nDate: …\r\n". */
  dateLine: string;
}

/** Per probe settings (a reload brings new ones); per day; key: path, its headers, seed. */
const templates = new WeakMap<ProbeSettings, { day: string; byKey: Map<string, ProbeTemplate | null> }>();

function dateLineOf(date: Date): string {
  return `\r\nDate: ${date.toUTCString().replace(/GMT/, '+0000')}\r\n`;
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

async function fromTemplate(input: ComposeProbeInput, date: Date, day: string): Promise<Buffer | null> {
  if (input.id.length !== PLACEHOLDER_A.length) return null;
  let perSettings = templates.get(input.probe);
  if (!perSettings || perSettings.day !== day) {
    perSettings = { day, byKey: new Map() };
    templates.set(input.probe, perSettings);
  }
  const key = JSON.stringify([input.path.index, input.path.name, input.path.headers, input.seed.name, input.seed.address]);
  let t = perSettings.byKey.get(key);
  if (t === undefined) {
    t = await makeTemplate(input, date);
    perSettings.byKey.set(key, t);
  }
  if (t === null) return null;
  const dateLine = dateLineOf(date);
  if (dateLine.length !== t.dateLine.length) return null;
  const id = input.id;
  return Buffer.from(t.text.replace(t.dateLine, () => dateLine).replaceAll(PLACEHOLDER_A, () => id), 'latin1');
}

async function makeTemplate(input: ComposeProbeInput, date: Date): Promise<ProbeTemplate | null> {
  const baseBoundary = randomBytes(8).toString('hex');
  const compose = async (id: string) => {
    // composeProbe without the template (fromTemplate is skipped for placeholder ids: a
    // placeholder never reaches this point twice) and without DKIM (signing comes after).
    const raw = await composeRaw({ ...input, id }, baseBoundary);
    return raw.toString('latin1');
  };
  const a = await compose(PLACEHOLDER_A);
  const b = await compose(PLACEHOLDER_B);
  if (a.replaceAll(PLACEHOLDER_A, PLACEHOLDER_CHECK) !== b.replaceAll(PLACEHOLDER_B, PLACEHOLDER_CHECK)) return null;
  if (count(a, PLACEHOLDER_A) < 2) return null;
  const dateLine = dateLineOf(date);
  if (count(a, dateLine) !== 1) return null;
  return { text: a, dateLine };
}

function senderAddress(from: string): string {
  const parsed = addressparser(from, { flatten: true });
  const address = parsed[0]?.address;
  if (!address || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address)) {
    throw new TemplateError('probe.from', `expected "Name <local@domain>" or an address, got "${from.slice(0, 80)}"`);
  }
  return address;
}

function oneLine(value: string, field: string): string {
  if (/[\r\n]/.test(value)) throw new TemplateError(field, 'must be a single line (no line breaks)');
  return value;
}

/** "Mon, 23 Nov 2026" (UTC): what a newsletter puts in its header line. */
function formatDate(d: Date): string {
  return d.toUTCString().slice(0, 16);
}

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

/*
 * The default body reads like an ordinary weekly digest: filters treat one-line "test" mails
 * unlike real campaigns, and a probe must be judged the way the sender's real mail is.
 */
function defaultText(v: TemplateValues, unsubscribe?: string): string {
  return [
    `Your weekly digest — ${v.date}`,
    '',
    'Hello,',
    '',
    'Here is what happened this week:',
    '',
    '* Product notes: faster search and a cleaner inbox view are rolling out to all accounts.',
    '* From the blog: five small habits that keep a shared calendar under control.',
    '* Community: the spring meet-up schedule is out; seats are limited.',
    '',
    'Read the full issue on our website. Thank you for reading, and see you next week.',
    '',
    '— The Digest team',
    '',
    unsubscribe ? `You receive this mail because you subscribed. Unsubscribe: ${unsubscribe}` : 'You receive this mail because you subscribed.',
    `Ref: ${probeBodyToken(v.id)}`,
    '',
  ].join('\n');
}

function defaultHtml(v: TemplateValues, unsubscribe?: string): string {
  const e = escapeHtml;
  const item = (title: string, body: string) =>
    `<tr><td style="padding:12px 0;border-bottom:1px solid #eee"><strong style="font-size:16px">${title}</strong><br><span style="color:#444">${body}</span></td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Your weekly digest</title></head>
<body style="margin:0;background:#f4f4f4;font-family:Helvetica,Arial,sans-serif;color:#222">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#fff;padding:24px">
<tr><td><h1 style="font-size:22px;margin:0 0 4px">Your weekly digest</h1><p style="color:#777;margin:0 0 16px">${e(v.date)}</p><p>Hello,</p><p>Here is what happened this week:</p></td></tr>
${item('Product notes', 'Faster search and a cleaner inbox view are rolling out to all accounts.')}
${item('From the blog', 'Five small habits that keep a shared calendar under control.')}
${item('Community', 'The spring meet-up schedule is out; seats are limited.')}
<tr><td style="padding-top:16px"><p>Thank you for reading, and see you next week.<br>— The Digest team</p>
<p style="color:#8a8a8a;font-size:11px">You receive this mail because you subscribed.${unsubscribe ? ` <a href="${e(unsubscribe)}" style="color:#8a8a8a">Unsubscribe</a>.` : ''}<br>Ref: ${probeBodyToken(e(v.id))}</p></td></tr>
</table></td></tr></table>
</body></html>
`;
}
