/**
 * The probe templates (`probe.subject`, `probe.text`, `probe.html`): validated by the config
 * loader, rendered by the probe composer. A module of its own so that config/ need not import
 * from send/.
 */

/** The placeholders a probe template may use. */
export const TEMPLATE_FIELDS = ['id', 'path', 'seed', 'date'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
export type TemplateValues = Record<TemplateField, string>;

export class TemplateError extends Error {
  readonly code = 'TEMPLATE_INVALID';
  constructor(readonly fieldPath: string, message: string) {
    super(`${fieldPath}: ${message}`);
    this.name = 'TemplateError';
  }
}

const PLACEHOLDER_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Substitute `{{id}}`, `{{path}}`, `{{seed}}`, `{{date}}`. Any other placeholder is an error
 * naming the config field (`probe.subject: unknown placeholder {{foo}}`), so a typo never
 * reaches a mailbox. `escape` is applied to substituted values (HTML bodies).
 */
export function renderTemplate(
  template: string,
  values: TemplateValues,
  fieldPath: string,
  escape: (s: string) => string = (s) => s,
): string {
  return template.replace(PLACEHOLDER_RE, (whole, name: string) => {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      throw new TemplateError(
        fieldPath,
        `unknown placeholder ${whole.replace(/\s+/g, '')} (known: ${TEMPLATE_FIELDS.map((f) => `{{${f}}}`).join(', ')})`,
      );
    }
    return escape(values[name as TemplateField]);
  });
}
