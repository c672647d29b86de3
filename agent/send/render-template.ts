// Moved to agent/template/render-template.ts; kept until agent/config/schema.ts imports it from there.
export { renderTemplate, TemplateError, TEMPLATE_FIELDS, type TemplateField, type TemplateValues } from '../template/render-template.js';
