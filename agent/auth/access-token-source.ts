/**
 * Access tokens of one OAuth2 lineage (account x client x token endpoint): obtained from the
 * refresh token, cached until shortly before they expire, refreshed once at a time, dropped
 * when a server refuses them. A refresh token rotated by the provider is kept (memory and the
 * store) and used from then on — unless the config's refresh token changed since, which means
 * the user put a new grant there on purpose (e.g. after `seedwatch auth`).
 */
import { systemClock, type Clock } from '../clock.js';
import type { SecretResolver } from '../config/load-config.js';
import type { SecretValue } from '../config/secret.js';
import { silentLogger, type Logger } from '../log.js';
import { lineageOf, type OAuth2Credentials } from './oauth2-credentials.js';
import { OAuth2Error } from './oauth2-error.js';
import { fingerprint, type RefreshTokenStore, type StoredRefreshToken } from './refresh-token-store.js';
import { refreshGrant, type FetchLike } from './token-endpoint.js';

/**
 * Refresh this long before expiry (at most; a tenth of the lifetime for short-lived tokens),
 * so a token handed to a login never expires between our check and the server's.
 */
export const EARLY_REFRESH_MS = 60_000;
/** Lifetime assumed when the provider omits expires_in (both big providers send it). */
export const DEFAULT_TOKEN_LIFETIME_MS = 10 * 60_000;

export interface AccessTokenSourceDeps {
  resolveSecret: SecretResolver;
  store?: RefreshTokenStore;
  clock?: Clock;
  log?: Logger;
  fetch?: FetchLike;
  /** Bounds one token request (default TOKEN_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
}

interface CachedToken {
  token: SecretValue;
  obtainedAtMs: number;
  expiresAtMs: number;
  /** Handed out again from the cache (not only right after the refresh that obtained it). */
  reused: boolean;
}

export class AccessTokenSource {
  readonly lineage: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private cached: CachedToken | null = null;
  private inflight: Promise<CachedToken> | null = null;
  /** The newest rotated refresh token, also when saving it to the store failed. */
  private rotated: StoredRefreshToken | null = null;
  private refreshCount = 0;
  /** The last few tokens handed out, so a refusal of an older one is still recognised as ours. */
  private readonly recent: string[] = [];

  constructor(
    readonly credentials: OAuth2Credentials,
    private readonly deps: AccessTokenSourceDeps,
  ) {
    this.lineage = lineageOf(credentials);
    this.clock = deps.clock ?? systemClock;
    this.log = (deps.log ?? silentLogger()).child({ oauth2: credentials.label });
  }

  /** Successful refreshes so far (for tests and health). */
  get refreshes(): number {
    return this.refreshCount;
  }

  /** A usable access token: the cached one while it has life left, else a refreshed one. */
  async accessToken(): Promise<SecretValue> {
    return (await this.accessTokenInfo()).token;
  }

  /** The token and until when (clock ms) this source will keep handing it out. */
  async accessTokenInfo(): Promise<{ token: SecretValue; validUntilMs: number }> {
    const now = this.clock.nowMs();
    let c = this.cached;
    if (c && now < this.refreshAtMs(c)) c.reused = true;
    else {
      if (!this.inflight) {
        this.inflight = this.refresh().finally(() => {
          this.inflight = null;
        });
      }
      c = await this.inflight;
    }
    return { token: c.token, validUntilMs: this.refreshAtMs(c) };
  }

  /**
   * A server refused `token`: drop it from the cache. True when a retry with a new token is
   * worth trying soon: the refused token came from the cache (it may have been revoked or
   * expired early; a refresh will tell), or a newer one is cached already. False when it came
   * straight from a refresh: then the grant itself is the problem, and a quick retry would only
   * hammer the provider.
   */
  invalidate(token: string): boolean {
    const c = this.cached;
    if (!c) return false;
    if (c.token.reveal() !== token) return true;
    this.cached = null;
    return c.reused;
  }

  /** True when `token` is one this source handed out recently. */
  owns(token: string): boolean {
    return this.recent.includes(token);
  }

  private refreshAtMs(c: CachedToken): number {
    const lifetime = c.expiresAtMs - c.obtainedAtMs;
    return c.expiresAtMs - Math.min(EARLY_REFRESH_MS, lifetime / 10);
  }

  private async refresh(): Promise<CachedToken> {
    const cr = this.credentials;
    const { resolveSecret } = this.deps;
    // Resolved at every refresh: a secret file the user replaced is picked up without a restart.
    const configToken = resolveSecret(cr.refreshToken, `${cr.fieldPath}.refreshToken`);
    const clientSecret = cr.clientSecret ? resolveSecret(cr.clientSecret, `${cr.fieldPath}.clientSecret`) : undefined;
    const basedOn = fingerprint(configToken);
    const rotated = await this.rotatedFor(basedOn);
    const refreshToken = rotated?.refreshToken ?? configToken;
    const origin = rotated
      ? 'the rotated refresh token kept in the ledger'
      : `the refresh token of ${cr.fieldPath}.refreshToken (${configToken.source})`;
    const startedAt = this.clock.nowMs();
    let res;
    try {
      res = await refreshGrant(
        { tokenUrl: cr.tokenUrl, clientId: cr.clientId, clientSecret, refreshToken, scope: cr.scope },
        { label: cr.label, fetch: this.deps.fetch, timeoutMs: this.deps.requestTimeoutMs },
      );
    } catch (err) {
      this.cached = null;
      if (err instanceof OAuth2Error && err.code === 'OAUTH2_REJECTED') {
        throw new OAuth2Error(
          err.code,
          `${err.message}; it used ${origin}. Get a new refresh token with \`seedwatch auth\` and put it in ${cr.fieldPath}.refreshToken`,
          err.details,
        );
      }
      throw err;
    }
    this.refreshCount++;
    let didRotate = false;
    if (res.refreshToken && res.refreshToken.reveal() !== refreshToken.reveal()) {
      didRotate = true;
      this.rotated = { refreshToken: res.refreshToken, basedOn, rotatedAtMs: this.clock.nowMs() };
      try {
        await this.deps.store?.save(this.lineage, this.rotated);
      } catch (err) {
        // Kept in memory; saved again at the next rotation. A restart before then falls back.
        this.log.error({ err: (err as Error).message }, 'cannot store the rotated OAuth2 refresh token in the ledger');
      }
    }
    const lifetimeMs = res.expiresInSeconds !== undefined ? res.expiresInSeconds * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    // Lifetime counts from when we asked: the token may have been minted before the answer came.
    const cached: CachedToken = { token: res.accessToken, obtainedAtMs: startedAt, expiresAtMs: startedAt + lifetimeMs, reused: false };
    this.cached = cached;
    this.recent.push(cached.token.reveal());
    if (this.recent.length > 3) this.recent.shift();
    this.log.info({ expiresInSeconds: Math.round(lifetimeMs / 1000), rotated: didRotate }, 'OAuth2 access token refreshed');
    return cached;
  }

  /**
   * The rotated refresh token to use, when it descends from the config's current one. The store
   * is read at every refresh: another process on the same dataDir (`seedwatch check` next to the
   * daemon) may have rotated it since; memory wins only when it is newer (its save failed).
   */
  private async rotatedFor(basedOn: string): Promise<StoredRefreshToken | null> {
    const mine = this.rotated?.basedOn === basedOn ? this.rotated : null;
    let stored: StoredRefreshToken | null = null;
    try {
      stored = (await this.deps.store?.load(this.lineage)) ?? null;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot read the stored OAuth2 refresh token');
      return mine;
    }
    if (stored && stored.basedOn !== basedOn) {
      if (!mine) this.log.info("the config's refresh token changed since the last rotation; using the config's");
      stored = null;
    }
    if (mine && (!stored || mine.rotatedAtMs > stored.rotatedAtMs)) return mine;
    if (stored) this.rotated = stored;
    return stored;
  }
}
