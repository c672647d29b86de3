/**
 * Pure: where a probe copy landed, from the role of its folder and its Gmail tab. The label
 * values (PLACEMENTS, OUTCOMES) are defined in vocabulary.ts.
 */

import type { GmailCategory, Placement, WatchedFolderRole } from './vocabulary.js';

export interface PlacementInput {
  folderRole: WatchedFolderRole;
  /** Gmail tab (found e.g. with IMAP SEARCH X-GM-RAW "category:promotions"); only meaningful in the inbox. */
  gmailCategory?: GmailCategory;
}

const TAB: Record<GmailCategory, Placement> = {
  primary: 'inbox',
  promotions: 'promotions',
  social: 'social',
  updates: 'updates',
  forums: 'forums',
};

/**
 * inbox (+ Gmail tab) and spam map directly. Trash, All Mail (archived/skipped the inbox)
 * and any other folder are `other`: the probe arrived but not where a recipient reads it.
 */
export function classifyPlacement(input: PlacementInput): Placement {
  const role = input?.folderRole;
  if (role === 'spam') return 'spam';
  if (role === 'inbox') {
    const cat = input.gmailCategory;
    return cat !== undefined && Object.prototype.hasOwnProperty.call(TAB, cat) ? TAB[cat] : 'inbox';
  }
  return 'other';
}
