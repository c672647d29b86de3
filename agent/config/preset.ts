import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatZodIssues } from './format-issues.js';

/** Provider presets are data (seed-accounts/providers/*.yaml), validated like the config. */
const FolderRule = z.strictObject({
  /** SPECIAL-USE attribute tried first (RFC 6154), e.g. \Junk. */
  specialUse: z.string().optional(),
  /** Known names tried second, in order, case-insensitively. */
  names: z.array(z.string()).default([]),
});

export const ProviderPresetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  displayName: z.string(),
  /** Mail domains that usually mean this provider (a hint for `check`, not a rule). */
  domains: z.array(z.string()).default([]),
  imap: z.strictObject({
    host: z.string().optional(),
    port: z.number().int().min(1).max(65535).default(993),
    secure: z.boolean().default(true),
  }),
  auth: z.array(z.enum(['password', 'oauth2'])).min(1),
  folders: z.strictObject({
    spam: FolderRule,
    trash: FolderRule,
    all: FolderRule.optional(),
  }),
  capabilities: z
    .strictObject({
      /** Gmail category tabs through X-GM-EXT-1 (X-GM-RAW "category:..."). */
      gmailTabs: z.boolean().default(false),
    })
    .default({ gmailTabs: false }),
  /** Most IMAP sessions the provider allows per account (Gmail: 15). */
  connectionBudget: z.number().int().min(1).default(4),
  /** Re-issue IDLE before this (servers drop idle sessions; Gmail after ~10 min). */
  idleRefresh: z.string().default('9m'),
  /** authserv-ids whose Authentication-Results are trusted (RFC 8601 §5). */
  authservIds: z.array(z.string()).default([]),
  /**
   * The provider's own Received `by` hosts. When set, an Authentication-Results without an
   * authserv-id (Microsoft writes none) is trusted only above the provider's ingress hop.
   */
  receivedHosts: z.array(z.string()).default([]),
  oauth2: z
    .strictObject({
      tokenUrl: z.string(),
      scope: z.string(),
      /** Microsoft's token URL has a {tenant} placeholder. */
      defaultTenant: z.string().optional(),
    })
    .optional(),
  notes: z.string().optional(),
});
export type ProviderPreset = z.infer<typeof ProviderPresetSchema>;

/** The shipped presets live in <package>/seed-accounts/providers, found from this file. */
export function defaultPresetDir(): string {
  // agent/config/preset.ts (tsx/vitest) or dist/agent/config/preset.js (compiled).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'seed-accounts', 'providers');
    try {
      readdirSync(candidate);
      return candidate;
    } catch {
      dir = resolve(dir, '..');
    }
  }
  throw new Error('seed-accounts/providers not found next to the seedwatch package');
}

export class PresetError extends Error {
  readonly code = 'PRESET_INVALID';
}

export function loadPresets(dir = defaultPresetDir()): Map<string, ProviderPreset> {
  const out = new Map<string, ProviderPreset>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const path = join(dir, file);
    const raw = parseYaml(readFileSync(path, 'utf8'));
    const parsed = ProviderPresetSchema.safeParse(raw);
    if (!parsed.success) {
      throw new PresetError(formatZodIssues(path, parsed.error.issues, raw).join('\n'));
    }
    if (parsed.data.name !== basename(file, '.yaml')) {
      throw new PresetError(`${path}: name: must equal the file name (${basename(file, '.yaml')})`);
    }
    out.set(parsed.data.name, parsed.data);
  }
  return out;
}
