/**
 * OAuth 2.0 Device Authorization Grant (RFC 8628): ask for a device code, tell the user where to
 * enter it, poll the token endpoint until they did. Used by `seedwatch auth` for presets with
 * `oauth2.flow: device-code` (outlook) to obtain the first refresh token.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OAuth2Error } from './oauth2-error.js';
import { parseTokenResponse, postForm, safeUrl, type FetchLike, type TokenResponse } from './token-endpoint.js';

/** RFC 8628 §3.2: the polling interval when the server names none. */
export const DEFAULT_POLL_INTERVAL_S = 5;
/** RFC 8628 §3.5: slow_down adds this to the interval. */
export const SLOW_DOWN_STEP_S = 5;
/** Bounds the whole wait for the user when the server names no expiry (Microsoft: 15 min). */
export const DEFAULT_DEVICE_CODE_LIFETIME_S = 15 * 60;

export interface DeviceCodeFlowOptions {
  deviceCodeUrl: string;
  tokenUrl: string;
  clientId: string;
  scope: string;
  /** Shows the user what to do (the provider's message, or URL + code). */
  prompt: (text: string) => void;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

export async function deviceCodeFlow(o: DeviceCodeFlowOptions): Promise<TokenResponse> {
  const label = 'seedwatch auth';
  const dc = await postForm(o.deviceCodeUrl, { client_id: o.clientId, scope: o.scope }, { label, action: 'start the device code flow', fetch: o.fetch });
  const deviceCode = typeof dc.device_code === 'string' ? dc.device_code : '';
  const userCode = typeof dc.user_code === 'string' ? dc.user_code : '';
  const verificationUri = typeof dc.verification_uri === 'string' ? dc.verification_uri : typeof dc.verification_url === 'string' ? dc.verification_url : '';
  if (!deviceCode || !userCode || !verificationUri) {
    throw new OAuth2Error('OAUTH2_ENDPOINT_ERROR', `${label}: device code endpoint ${safeUrl(o.deviceCodeUrl)} answered without device_code, user_code or verification_uri`);
  }
  o.prompt(typeof dc.message === 'string' && dc.message ? dc.message : `Open ${verificationUri} and enter the code ${userCode}`);
  let intervalS = typeof dc.interval === 'number' && dc.interval > 0 ? dc.interval : DEFAULT_POLL_INTERVAL_S;
  const lifetimeS = typeof dc.expires_in === 'number' && dc.expires_in > 0 ? dc.expires_in : DEFAULT_DEVICE_CODE_LIFETIME_S;
  const deadline = Date.now() + lifetimeS * 1000;
  const form = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: o.clientId, device_code: deviceCode };
  for (;;) {
    await sleep(intervalS * 1000, undefined, { signal: o.signal });
    if (Date.now() > deadline) throw new OAuth2Error('OAUTH2_REJECTED', `${label}: the device code expired before sign-in finished; run the command again`);
    try {
      const body = await postForm(o.tokenUrl, form, { label, action: 'finish the device code flow', fetch: o.fetch, secrets: [deviceCode] });
      return parseTokenResponse(body, o.tokenUrl, { label, action: 'finish the device code flow' });
    } catch (err) {
      if (!(err instanceof OAuth2Error)) throw err;
      if (err.oauthError === 'authorization_pending') continue;
      if (err.oauthError === 'slow_down') {
        intervalS += SLOW_DOWN_STEP_S;
        continue;
      }
      throw err; // access_denied, expired_token, invalid_client, …: the message says which
    }
  }
}
