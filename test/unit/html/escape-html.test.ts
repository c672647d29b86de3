import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../../agent/html/escape-html.js';

describe('escapeHtml', () => {
  it.each([
    ['plain text 1.2 s', 'plain text 1.2 s'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['a & b', 'a &amp; b'],
    ['&amp; stays visible as typed', '&amp;amp; stays visible as typed'],
    [`" onmouseover='x'`, '&quot; onmouseover=&#39;x&#39;'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it('leaves no character that could end an element or a quoted attribute', () => {
    const all = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(i)).join('');
    expect(escapeHtml(all)).not.toMatch(/[<>"']/);
  });
});
