import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { formatZodIssues } from './format-issues.js';

/** Provider presets are data (seed-accounts/providers/*.yaml), validated like the config. */
const FolderRule = z.strictObject({
  /** SPECIAL-USE attribute tried first (RFC 6154), e.g. \Junk. */
  specialUse: z.string().optional(),
  /** Known names tried second, in order, case-insensitively. */
  names: z.array(z.string()).default([]),
});

/** A URL of the provider's identity platform; `{tenant}` is filled in when used. */
const EndpointUrl = z.string().refine(
  (u) => {
    try {
      return /^https?:$/.test(new URL(u.replace(/\{tenant\}/g, 'tenant')).protocol);
    } catch {
      return false;
    }
  },
  { error: 'expected an http(s) URL (may contain {tenant})' },
);

/**
 * What `seedwatch auth` and the token refresh need to know of a provider's OAuth2 (RFC 6749).
 * Nothing about a provider's identity platform is written in code: a new provider with an
 * OAuth2 sign-in is one preset file.
 */
const OAuth2Preset = z
  .strictObject({
    /** Token endpoint (refresh grant, code exchange, device-code polling). */
    tokenUrl: EndpointUrl,
    /** Scope asked for IMAP access (and sent with refresh grants). */
    scope: z.string().min(1),
    /** Fills `{tenant}` in the URLs when the seed (or `seedwatch auth --tenant`) names none. */
    defaultTenant: z.string().optional(),
    /**
     * How `seedwatch auth` obtains a seed's first refresh token: `device-code` (RFC 8628: the
     * user enters a code on any device) or `loopback` (RFC 8252 §7.3 authorization code with
     * PKCE, redirected to 127.0.0.1). Without it the preset can refresh tokens but `seedwatch
     * auth` cannot sign in for it.
     */
    flow: z.enum(['device-code', 'loopback']).optional(),
    /** Device authorization endpoint (flow device-code). */
    deviceCodeUrl: EndpointUrl.optional(),
    /** Authorization endpoint (flow loopback). */
    authorizeUrl: EndpointUrl.optional(),
    /** Extra query parameters of the authorization request, e.g. what makes the provider issue a refresh token. */
    authorizeParams: z.record(z.string(), z.string()).default({}),
    /** The provider's SMTP submission relays: a relay path with smtp.auth.oauth2 to one of them uses this token endpoint. */
    relay: z
      .strictObject({
        /** Host names of the relays, simple globs (`*` = any run of characters), case-insensitive. */
        hosts: z.array(z.string().min(1)).min(1),
        /** Scope asked for SMTP submission. */
        scope: z.string().min(1),
      })
      .optional(),
  })
  .superRefine((o, ctx) => {
    if (o.flow === 'device-code' && !o.deviceCodeUrl) {
      ctx.addIssue({ code: 'custom', path: ['deviceCodeUrl'], message: 'required for flow device-code' });
    }
    if (o.flow === 'loopback' && !o.authorizeUrl) {
      ctx.addIssue({ code: 'custom', path: ['authorizeUrl'], message: 'required for flow loopback' });
    }
  });
export type OAuth2Preset = z.infer<typeof OAuth2Preset>;

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
  idleRefresh: z
    .string()
    .refine((s) => (parseDuration(s) ?? 0) > 0, { error: 'expected a duration such as 9m or 25m' })
    .default('9m'),
  /** authserv-ids whose Authentication-Results are trusted (RFC 8601 §5). */
  authservIds: z.array(z.string()).default([]),
  /**
   * The provider's own Received `by` hosts. When set, an Authentication-Results without an
   * authserv-id (Microsoft writes none) is trusted only above the provider's ingress hop.
   */
  receivedHosts: z.array(z.string()).default([]),
  oauth2: OAuth2Preset.optional(),
  notes: z.string().optional(),
}).superRefine((p, ctx) => {
  if (p.oauth2?.flow && !p.auth.includes('oauth2')) {
    // A refresh token the seed could never use.
    ctx.addIssue({ code: 'custom', path: ['oauth2', 'flow'], message: 'the preset declares a sign-in flow but auth does not list oauth2' });
  }
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
