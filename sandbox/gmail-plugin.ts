/**
 * Gmail's IMAP extensions for a hoodiecrow mailbox, as far as seedwatch uses them:
 *   - the X-GM-EXT-1 capability (hoodiecrow's own x-gm-ext-1 plugin supplies X-GM-MSGID and
 *     X-GM-LABELS but never advertises it, and has no X-GM-RAW);
 *   - SEARCH X-GM-RAW "<gmail search>" for the terms a watcher needs: `category:<tab>`,
 *     `in:inbox|spam|trash|anywhere`, `label:<name>`, `rfc822msgid:<id>`, each negatable with `-`,
 *     all ANDed. Anything else is answered NO, as Gmail answers an unparsable query.
 * The tab of a message is `gmailTab` on hoodiecrow's message object, set at delivery.
 */
import type { HcMailbox, HcMessage, HcServer } from './hoodiecrow.js';

export const GMAIL_CATEGORIES = ['primary', 'promotions', 'social', 'updates', 'forums'] as const;

type Term = { negate: boolean; key: string; value: string };

/** Splits a Gmail query into terms; throws on what the sandbox does not understand. */
export function parseGmailRaw(query: string): Term[] {
  const terms: Term[] = [];
  for (const token of query.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(-?)([a-z0-9]+):(.+)$/i.exec(token);
    if (!m) throw new Error(`X-GM-RAW: unsupported term "${token.slice(0, 60)}" in the sandbox`);
    const key = m[2].toLowerCase();
    if (!['category', 'in', 'label', 'rfc822msgid'].includes(key)) throw new Error(`X-GM-RAW: unsupported operator "${key}:" in the sandbox`);
    terms.push({ negate: m[1] === '-', key, value: m[3].replace(/^"|"$/g, '') });
  }
  if (terms.length === 0) throw new Error('X-GM-RAW: empty query');
  return terms;
}

function messageIdOf(message: HcMessage): string | undefined {
  const m = /^Message-ID:[ \t]*<?([^>\r\n]+)>?/im.exec(message.raw.slice(0, 64 * 1024));
  return m?.[1];
}

function matches(term: Term, message: HcMessage, mailbox: HcMailbox | undefined): boolean {
  const v = term.value.toLowerCase();
  switch (term.key) {
    case 'category':
      return (message.gmailTab ?? 'primary') === v;
    case 'in': {
      const path = mailbox?.path ?? '';
      const uses = ([] as string[]).concat(mailbox?.['special-use'] ?? []);
      if (v === 'anywhere') return true;
      if (v === 'inbox') return path.toUpperCase() === 'INBOX';
      if (v === 'spam') return uses.includes('\\Junk');
      if (v === 'trash') return uses.includes('\\Trash');
      return false;
    }
    case 'label': {
      const labels = ((message['X-GM-LABELS'] as string[] | undefined) ?? []).map((l) => l.toLowerCase().replace(/^\\/, ''));
      return labels.includes(v.replace(/^\\/, ''));
    }
    case 'rfc822msgid':
      return messageIdOf(message)?.toLowerCase() === v.replace(/^<|>$/g, '');
    default:
      return false;
  }
}

export function gmailPlugin(server: HcServer): void {
  server.registerCapability('X-GM-EXT-1');
  // Four parameters: hoodiecrow gives a search key with more than three one value argument.
  server.searchHandlers['X-GM-RAW'] = (connection, message, _index, query) => {
    const terms = parseGmailRaw(String(query ?? ''));
    return terms.every((t) => matches(t, message, connection.selectedMailbox) !== t.negate);
  };
}
