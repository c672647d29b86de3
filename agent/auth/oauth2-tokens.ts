/**
 * The agent's OAuth2 token sources, one per lineage (account x client x token endpoint), so
 * the watcher, `check` and the relay paths of one process share access tokens and rotated
 * refresh tokens. Built once by the composition root with the ledger-backed store.
 */
import type { Clock } from '../clock.js';
import type { PathConfig, SecretResolver, SeedConfig } from '../config/load-config.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { join } from 'node:path';
import { AccessTokenSource } from './access-token-source.js';
import { lineageOf, pathOAuth2Credentials, seedOAuth2Credentials, type OAuth2Credentials } from './oauth2-credentials.js';
import { LedgerRefreshTokenStore, STORE_KEY_FILE, type RefreshTokenStore } from './refresh-token-store.js';
import type { FetchLike } from './token-endpoint.js';

export interface OAuth2TokensOptions {
  /** Where rotated refresh tokens persist; default: memory only (lost at exit). */
  store?: RefreshTokenStore;
  clock?: Clock;
  log?: Logger;
  fetch?: FetchLike;
  requestTimeoutMs?: number;
}

export class OAuth2Tokens {
  private readonly sources = new Map<string, AccessTokenSource>();

  constructor(private readonly opts: OAuth2TokensOptions = {}) {}

  /** Tokens whose rotated refresh tokens persist in the ledger, encrypted with <dataDir>/oauth2-store.key. */
  static withLedger(ledger: Pick<Ledger, 'getState' | 'setState'>, dataDir: string, opts: Omit<OAuth2TokensOptions, 'store'> = {}): OAuth2Tokens {
    return new OAuth2Tokens({ ...opts, store: LedgerRefreshTokenStore.open(ledger, join(dataDir, STORE_KEY_FILE), opts.log) });
  }

  /** The source of an oauth2 seed. Throws OAuth2Error (OAUTH2_MISCONFIGURED) when no token URL is known. */
  forSeed(seed: SeedConfig, resolveSecret: SecretResolver): AccessTokenSource {
    return this.source(seedOAuth2Credentials(seed), resolveSecret);
  }

  /** The source of a relay path with smtp.auth.oauth2. */
  forPath(path: PathConfig, index: number, resolveSecret: SecretResolver): AccessTokenSource {
    return this.source(pathOAuth2Credentials(path, index), resolveSecret);
  }

  /** A server refused `token`; see AccessTokenSource.invalidate. False when no source has it. */
  invalidateAccessToken(token: string): boolean {
    for (const s of this.sources.values()) if (s.owns(token)) return s.invalidate(token);
    return false;
  }

  private source(creds: OAuth2Credentials, resolveSecret: SecretResolver): AccessTokenSource {
    const key = lineageOf(creds);
    let s = this.sources.get(key);
    if (!s) {
      s = new AccessTokenSource(creds, {
        resolveSecret,
        store: this.opts.store,
        clock: this.opts.clock,
        log: this.opts.log,
        fetch: this.opts.fetch,
        requestTimeoutMs: this.opts.requestTimeoutMs,
      });
      this.sources.set(key, s);
    }
    return s;
  }
}
