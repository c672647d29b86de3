/**
 * Where a seed's or a relay path's OAuth2 tokens come from: token URL (config, else the
 * provider preset's with {tenant} filled in), scope, client, refresh-token secret. Pure.
 */
import { createHash } from 'node:crypto';
import type { PathConfig, SeedConfig } from '../config/load-config.js';
import type { SecretRef } from '../config/secret.js';
import { OAuth2Error } from './oauth2-error.js';

export interface OAuth2Credentials {
  /** First word of every message: `seed gmail-1`, `path peering`. */
  label: string;
  /** Config field of the oauth2 block, e.g. seeds[0].imap.oauth2. */
  fieldPath: string;
  /** The login name (IMAP user / SMTP user). */
  user: string;
  tokenUrl: string;
  /** Sent with the refresh grant when known (Microsoft wants it; Google ignores it). */
  scope?: string;
  clientId: string;
  clientSecret?: SecretRef;
  refreshToken: SecretRef;
}

/**
 * `{tenant}` when neither the seed nor the preset names one: the multi-tenant value of the
 * identity platforms that use the placeholder (a preset sets defaultTenant to choose another).
 */
export const FALLBACK_TENANT = 'common';

/** Fill `{tenant}` of an endpoint URL (token, device code, authorization). */
export function expandTokenUrl(url: string, tenant: string | undefined, defaultTenant: string | undefined): string {
  return url.replace(/\{tenant\}/g, encodeURIComponent(tenant ?? defaultTenant ?? FALLBACK_TENANT));
}

export function seedOAuth2Credentials(seed: SeedConfig): OAuth2Credentials {
  const a = seed.imap.auth;
  if (a.kind !== 'oauth2') throw new Error(`seed ${seed.name}: not an OAuth2 seed`);
  const preset = seed.preset.oauth2;
  const raw = a.tokenUrl ?? preset?.tokenUrl;
  if (!raw) {
    throw new OAuth2Error(
      'OAUTH2_MISCONFIGURED',
      `seed ${seed.name}: ${a.fieldPath}.tokenUrl: required (provider "${seed.provider}" has no OAuth2 token endpoint in its preset)`,
    );
  }
  return {
    label: `seed ${seed.name}`,
    fieldPath: a.fieldPath,
    user: seed.imap.user,
    tokenUrl: expandTokenUrl(raw, a.tenant, preset?.defaultTenant),
    ...(preset?.scope ? { scope: preset.scope } : {}),
    clientId: a.clientId,
    ...(a.clientSecret ? { clientSecret: a.clientSecret } : {}),
    refreshToken: a.refreshToken,
  };
}

/**
 * A relay path's credentials: its own tokenUrl, else the token endpoint and relay scope of the
 * preset that claims the relay's host (oauth2.relay.hosts, resolved when the config loads).
 */
export function pathOAuth2Credentials(path: PathConfig, index: number): OAuth2Credentials {
  const auth = path.smtp?.auth;
  const o = auth?.oauth2;
  if (!path.smtp || !auth || !o) throw new Error(`path ${path.name}: no smtp.auth.oauth2`);
  const fieldPath = `paths[${index}].smtp.auth.oauth2`;
  const preset = path.relayPreset?.oauth2;
  const raw = o.tokenUrl ?? preset?.tokenUrl;
  if (!raw) {
    throw new OAuth2Error(
      'OAUTH2_MISCONFIGURED',
      `path ${path.name}: ${fieldPath}.tokenUrl: required (the token endpoint of relay ${path.smtp.host} is not known: no provider preset lists it in oauth2.relay.hosts)`,
    );
  }
  return {
    label: `path ${path.name}`,
    fieldPath,
    user: auth.user,
    tokenUrl: expandTokenUrl(raw, o.tenant, preset?.defaultTenant),
    // The preset's relay scope belongs to the preset's endpoint, not to one the path names.
    ...(preset?.relay && !o.tokenUrl ? { scope: preset.relay.scope } : {}),
    clientId: o.clientId,
    ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
    refreshToken: o.refreshToken,
  };
}

/**
 * One refresh-token lineage: the same account at the same client and endpoint shares its
 * rotated refresh token, whichever seed or path uses it. Hashed: no address in the ledger key.
 */
export function lineageOf(c: Pick<OAuth2Credentials, 'tokenUrl' | 'clientId' | 'user'>): string {
  return createHash('sha256').update(`${c.tokenUrl}\n${c.clientId}\n${c.user.toLowerCase()}`).digest('hex').slice(0, 32);
}
