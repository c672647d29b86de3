import { systemClock, type Clock } from '../clock.js';
import type { Config, SecretResolver } from '../config/load-config.js';
import type { OAuth2Tokens } from '../auth/oauth2-tokens.js';
import type { Logger } from '../log.js';
import { MxPath } from './mx-path.js';
import type { PathVerifyResult, ProbeEnvelope, ProbePath, SendOutcome } from './probe-path.js';
import { SmtpPath } from './smtp-path.js';

/**
 * One ProbePath per configured path, in config order. A path that cannot be built (a missing
 * secret, say) is still returned, carrying `setupError`: it sends nothing and the others go on.
 */
export function createPaths(
  config: Config,
  resolveSecret: SecretResolver,
  logger: Logger,
  clock: Clock = systemClock,
  oauth2?: OAuth2Tokens,
): ProbePath[] {
  const seedDomains = config.seeds.map((s) => s.address.slice(s.address.lastIndexOf('@') + 1).toLowerCase());
  return config.paths.map((p, i) => {
    const deps = { clock, logger: logger.child({ path: p.name }), resolveSecret, ...(oauth2 ? { oauth2 } : {}) };
    try {
      const path: ProbePath = p.smtp
        ? new SmtpPath(p, i, deps)
        : new MxPath(p, i, { ...deps, ...(config.dns ? { dnsServers: config.dns.servers } : {}), seedDomains });
      if (path.setupError) logger.error({ path: p.name }, path.setupError);
      return path;
    } catch (err) {
      const message = `path "${p.name}": cannot be set up: ${(err as Error).message}`;
      logger.error({ path: p.name }, message);
      return brokenPath(p.name, p.smtp ? 'smtp' : 'mx', message, clock);
    }
  });
}

/** Close every path (QUIT pooled sessions); never throws. */
export async function closePaths(paths: ProbePath[]): Promise<void> {
  await Promise.allSettled(paths.map((p) => p.close()));
}

function brokenPath(name: string, mode: 'smtp' | 'mx', setupError: string, clock: Clock): ProbePath {
  return {
    name,
    mode,
    setupError,
    async send(_m: Buffer, _e: ProbeEnvelope): Promise<SendOutcome> {
      return { result: { ok: false, reason: 'connection', atMs: clock.nowMs(), message: setupError } };
    },
    async verify(): Promise<PathVerifyResult> {
      return { ok: false, detail: setupError };
    },
    async close() {},
  };
}
