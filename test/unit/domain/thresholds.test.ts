import { describe, expect, it } from 'vitest';
import { placementMatrix, type MatrixFact } from '../../../agent/domain/placement-matrix.js';
import { breaks, evaluateThresholds, parseThresholds } from '../../../agent/domain/thresholds.js';

describe('--fail-on thresholds', () => {
  it('parses rules', () => {
    expect(parseThresholds('spam>0.2, missing>0,inbox<=0.9')).toEqual([
      { key: 'spam', op: '>', value: 0.2, text: 'spam>0.2' },
      { key: 'missing', op: '>', value: 0, text: 'missing>0' },
      { key: 'inbox', op: '<=', value: 0.9, text: 'inbox<=0.9' },
    ]);
  });

  it.each([
    ['spam=0.2', '--fail-on: "spam=0.2" is not KEY>VALUE (e.g. spam>0.2, missing>0, inbox<0.9)'],
    ['junk>0.2', '--fail-on: unknown key "junk" (known: inbox, spam, promotions, social, updates, forums, other, missing, failed)'],
    ['spam>20', '--fail-on: "spam>20": shares are between 0 and 1'],
  ])('rejects %s', (text, msg) => {
    expect(() => parseThresholds(text)).toThrow(msg);
  });

  it.each([
    ['spam>0.2', 0.2, false], ['spam>0.2', 0.21, true], ['spam>=0.2', 0.2, true],
    ['inbox<0.9', 0.9, false], ['inbox<0.9', 0.89, true], ['inbox<=0.9', 0.9, true],
  ] as const)('%s at %d breaks: %s', (rule, share, broken) => {
    expect(breaks(parseThresholds(rule)[0], share)).toBe(broken);
  });
});

describe('threshold evaluation over the matrix', () => {
  const f = (path: string, over: Partial<MatrixFact>): MatrixFact => ({ provider: 'gmail', path, createdAtMs: 0, status: 'accepted', outcome: 'inbox', copies: 1, deliveryLatencySeconds: 1, ...over });
  const facts = [
    f('peering', {}), f('peering', { outcome: 'spam' }), f('peering', { outcome: 'inbox' }), f('peering', { outcome: 'inbox' }),
    f('transit', { status: 'failed', errorReason: 'rejected', outcome: null }),
    f('direct', { outcome: null }),
  ];

  it('placements against the resolved share; failed against all probes; unknown placements fail', () => {
    const checks = evaluateThresholds(placementMatrix(facts), parseThresholds('spam>0.2,failed>0.5'));
    expect(checks).toEqual([
      { rule: 'spam>0.2', provider: 'gmail', path: 'direct', share: null, failed: true, note: 'no probe resolved' },
      { rule: 'failed>0.5', provider: 'gmail', path: 'direct', share: 0, failed: false },
      { rule: 'spam>0.2', provider: 'gmail', path: 'peering', share: 0.25, failed: true },
      { rule: 'failed>0.5', provider: 'gmail', path: 'peering', share: 0, failed: false },
      { rule: 'spam>0.2', provider: 'gmail', path: 'transit', share: null, failed: true, note: 'no probe accepted' },
      { rule: 'failed>0.5', provider: 'gmail', path: 'transit', share: 1, failed: true },
    ]);
  });

  it('in a closed window the unseen probe is missing, so the check has a share', () => {
    const checks = evaluateThresholds(placementMatrix(facts, { closed: true }), parseThresholds('missing>0'));
    expect(checks.find((c) => c.path === 'direct')).toEqual({ rule: 'missing>0', provider: 'gmail', path: 'direct', share: 1, failed: true });
  });
});
