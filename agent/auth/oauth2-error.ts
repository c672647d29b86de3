import type { ErrorCode } from '../errors.js';

/**
 * Errors of the OAuth2 token client. Messages name the seed or path, the token endpoint (no
 * query string) and the provider's error code — never a token, a code or a client secret.
 */
export type OAuth2ErrorCode = Extract<
  ErrorCode,
  /** The provider refused the grant (invalid_grant: revoked/expired refresh token; invalid_client; …). */
  | 'OAUTH2_REJECTED'
  /** The token endpoint could not be reached (DNS, refused, reset). */
  | 'OAUTH2_ENDPOINT_UNREACHABLE'
  /** The token endpoint did not answer within TOKEN_REQUEST_TIMEOUT_MS. */
  | 'OAUTH2_ENDPOINT_TIMEOUT'
  /** The token endpoint answered, but not with a usable token (5xx, 429, not JSON, no access_token). */
  | 'OAUTH2_ENDPOINT_ERROR'
  /** The configuration cannot work (no token URL known for the provider, say). */
  | 'OAUTH2_MISCONFIGURED'
>;

export class OAuth2Error extends Error {
  /**
   * True when the credentials themselves were refused (or cannot be used): the watcher
   * classifies the failure as `login` and retries slowly (watch-error.ts reads this flag).
   */
  readonly authenticationFailed: boolean;
  constructor(
    readonly code: OAuth2ErrorCode,
    message: string,
    readonly details: { status?: number; oauthError?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'OAuth2Error';
    this.authenticationFailed = code === 'OAUTH2_REJECTED' || code === 'OAUTH2_MISCONFIGURED';
  }
  get status(): number | undefined {
    return this.details.status;
  }
  /** The provider's `error` field (a short ASCII code such as invalid_grant), when it sent one. */
  get oauthError(): string | undefined {
    return this.details.oauthError;
  }
}
