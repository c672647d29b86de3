/**
 * Escape-by-default HTML templating for the status page and the weekly report.
 * Probes come back from the internet: subjects, Authentication-Results verdicts, Microsoft
 * stamps and SMTP replies are attacker-controlled text. Every value interpolated with `html`
 * is escaped unless it is already a SafeHtml (markup this code built itself), so forgetting
 * to escape is not possible by omission.
 */

import { escapeHtml } from '../html/escape-html.js';

/** Markup built by this module's callers from escaped parts; inserted verbatim. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** Tagged template: `html\`<td>${untrusted}</td>\`` escapes `untrusted`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Trusted markup (constants in this code base only — never data). */
export function rawHtml(s: string): SafeHtml {
  return new SafeHtml(s);
}
