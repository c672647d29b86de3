import type { Config } from '../config/load-config.js';

/**
 * Live part of `seedwatch check`: log into every seed and show its folder map, test every
 * path's SMTP. Filled in by the send and watch issues; until then it says so.
 */
export async function connectivityCheck(_cfg: Config, _opts: { json: boolean }): Promise<boolean> {
  process.stderr.write('\n(connectivity checks: not available yet — the send and watch issues have not landed; use --no-connect)\n');
  return true;
}
