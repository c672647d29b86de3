import { describe, expect, it } from 'vitest';
import { classifyPlacement, type PlacementInput } from '../../../agent/domain/placement.js';
import { OUTCOMES, PLACEMENTS } from '../../../agent/domain/vocabulary.js';

describe('classifyPlacement', () => {
  it('exports the label values in contract order', () => {
    expect(PLACEMENTS).toEqual(['inbox', 'spam', 'promotions', 'social', 'updates', 'forums', 'other']);
    expect(OUTCOMES).toEqual([...PLACEMENTS, 'missing']);
  });

  it.each<[PlacementInput, string]>([
    [{ folderRole: 'inbox' }, 'inbox'],
    [{ folderRole: 'inbox', gmailCategory: 'primary' }, 'inbox'],
    [{ folderRole: 'inbox', gmailCategory: 'promotions' }, 'promotions'],
    [{ folderRole: 'inbox', gmailCategory: 'social' }, 'social'],
    [{ folderRole: 'inbox', gmailCategory: 'updates' }, 'updates'],
    [{ folderRole: 'inbox', gmailCategory: 'forums' }, 'forums'],
    [{ folderRole: 'spam' }, 'spam'],
    [{ folderRole: 'spam', gmailCategory: 'promotions' }, 'spam'],
    [{ folderRole: 'trash' }, 'other'],
    [{ folderRole: 'all' }, 'other'],
    [{ folderRole: 'other', gmailCategory: 'social' }, 'other'],
    [{ folderRole: 'inbox', gmailCategory: 'toString' as never }, 'inbox'],
    [{ folderRole: 'bogus' as never }, 'other'],
  ])('%j → %s', (input, expected) => {
    expect(classifyPlacement(input)).toBe(expected);
  });

  it('tolerates missing input', () => {
    expect(classifyPlacement(undefined as never)).toBe('other');
  });
});
