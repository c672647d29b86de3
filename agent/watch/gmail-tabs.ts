/**
 * Gmail category tabs through X-GM-EXT-1: `UID SEARCH UID <set> X-GM-RAW "category:<tab>"`.
 * Only called when the server advertises X-GM-EXT-1; without it no X-GM command is ever sent.
 */
import type { ImapFlow } from 'imapflow';
import type { GmailCategory } from '../domain/vocabulary.js';

export const GMAIL_EXT_CAPABILITY = 'X-GM-EXT-1';

/** Non-primary tabs searched explicitly; an inbox message in none of them is in Primary. */
export const SEARCHED_TABS: readonly Exclude<GmailCategory, 'primary'>[] = ['promotions', 'social', 'updates', 'forums'];

export function hasGmailExtensions(client: Pick<ImapFlow, 'capabilities'>): boolean {
  return client.capabilities?.has(GMAIL_EXT_CAPABILITY) === true;
}

export type TabResult = { tabs: Map<number, GmailCategory> } | { error: string };

/** Tab of each inbox UID; the selected mailbox must be INBOX. */
export async function gmailTabs(client: ImapFlow, uids: number[]): Promise<TabResult> {
  const tabs = new Map<number, GmailCategory>();
  if (uids.length === 0) return { tabs };
  const set = uids.join(',');
  try {
    for (const tab of SEARCHED_TABS) {
      const found = await client.search({ uid: set, gmraw: `category:${tab}` }, { uid: true });
      if (!Array.isArray(found)) continue;
      for (const uid of found) if (!tabs.has(uid)) tabs.set(uid, tab);
    }
  } catch (err) {
    return { error: `X-GM-RAW search failed: ${(err as Error).message}`.slice(0, 300) };
  }
  for (const uid of uids) if (!tabs.has(uid)) tabs.set(uid, 'primary');
  return { tabs };
}
