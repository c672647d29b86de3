import type { PathVerifyResult, ProbePath } from './probe-path.js';

/** Bounds one `seedwatch check` of a path beyond the path's own timeout (a hung resolver, say). */
export const VERIFY_TIMEOUT_MS = 30_000;

/**
 * For `seedwatch check`: relay → connect, EHLO (STARTTLS, login as configured), QUIT;
 * direct → resolve each seed domain's MX and connect. Never throws.
 */
export async function verifyPath(path: ProbePath, timeoutMs: number = VERIFY_TIMEOUT_MS): Promise<PathVerifyResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<PathVerifyResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  try {
    const r = await Promise.race([path.verify(), timeout]);
    return { ok: r.ok, detail: `path "${path.name}" (${path.mode}): ${r.detail}` };
  } catch (err) {
    return { ok: false, detail: `path "${path.name}" (${path.mode}): ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
