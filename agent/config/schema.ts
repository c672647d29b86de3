import { validate as validateCron } from 'node-cron';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { renderTemplate, TemplateError } from '../template/render-template.js';
import type { SecretRef } from './secret.js';
import { canonicalIp } from '../analyze/ingress-ip.js';

/*
 * The configuration contract (README, "Configuration"). Every object is strict (unknown keys are errors),
 * every default is written here with its unit, and every message names what is expected.
 */

const PORT_MSG = 'expected an integer from 1 to 65535';
export const Port = z
  .number({ error: PORT_MSG })
  .int({ error: PORT_MSG })
  .min(1, { error: PORT_MSG })
  .max(65535, { error: PORT_MSG });

/** A duration such as `30s`, `5m`, `2h`; parsed to milliseconds. */
export const Duration = z
  .string({ error: 'expected a duration such as 30s, 5m or 2h' })
  .refine((s) => parseDuration(s) !== null, {
    error: (iss) => `expected a duration such as 30s, 5m or 2h, got "${String(iss.input).slice(0, 40)}"`,
  })
  .transform((s) => parseDuration(s) as number);

export const CronExpr = z
  .string({ error: 'expected a cron expression such as "*/5 * * * *"' })
  .refine((s) => validateCron(s), {
    error: (iss) =>
      `invalid cron expression "${String(iss.input).slice(0, 60)}" (5 fields, or 6 with seconds first, e.g. "*/5 * * * *")`,
  });

const SECRET_MSG = 'expected a secret: { env: NAME } or { file: PATH } (or a literal string)';
export const Secret = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' }) }),
    z.strictObject({ file: z.string().min(1) }),
    z.string().min(1).transform((literal) => ({ literal })),
  ],
  { error: SECRET_MSG },
) as unknown as z.ZodType<SecretRef, unknown>;

const IpAddress = z.string().refine((s) => isIP(s) !== 0, { error: 'expected an IPv4 or IPv6 address' });

/** A probe template: only the known placeholders ({{id}}, {{path}}, {{seed}}, {{date}}). */
const Template = z.string().superRefine((t, ctx) => {
  try {
    renderTemplate(t, { id: 'x', path: 'x', seed: 'x', date: 'x' }, '');
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message.replace(/^: /, '') });
  }
});

/** Names of paths, seeds and agents: they become metric label values. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const Name = z
  .string({ error: 'expected a name' })
  .regex(NAME_PATTERN, {
    error: 'expected a name of letters, digits, "-", "_" or "." (it becomes a metric label value)',
  });

const Email = z.string().regex(/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/, { error: 'expected an e-mail address' });

const Tls = z.strictObject({
  /** Verify the server certificate. Default true; false only for test servers. */
  rejectUnauthorized: z.boolean().default(true),
  /** SNI / certificate name, when it differs from host. */
  servername: z.string().optional(),
});

const OAuth2 = z.strictObject({
  clientId: z.string(),
  clientSecret: Secret.optional(),
  tenant: z.string().optional(),
  refreshToken: Secret,
  /** Token endpoint; defaults to the provider preset's. */
  tokenUrl: z.string().url().optional(),
});

const SmtpRelay = z.strictObject({
  host: z.string(),
  /** Relay port. Default 587. */
  port: Port.default(587),
  /** Implicit TLS (port 465 style). Default false: STARTTLS when the relay offers it. */
  secure: z.boolean().default(false),
  /** Fail unless STARTTLS succeeds. Default false. */
  requireTLS: z.boolean().default(false),
  tls: Tls.default({ rejectUnauthorized: true }),
  auth: z
    .strictObject({ user: z.string(), pass: Secret.optional(), oauth2: OAuth2.optional() })
    .refine((a) => (a.pass === undefined) !== (a.oauth2 === undefined), { error: 'expected exactly one of pass or oauth2' })
    .optional(),
  /** Pooled connections to the relay. Default 2. */
  maxConnections: z.number().int().min(1).max(100).default(2),
});

const DirectMx = z.strictObject({
  localAddress: IpAddress.optional(),
  /** HELO/EHLO name; should match the PTR of localAddress. Default: the machine's hostname. */
  helo: z.string().optional(),
  /** Port on the MX. Default 25; tests point it at a loopback port. */
  port: Port.default(25),
  /** Require STARTTLS. Default false: STARTTLS when offered (opportunistic, as MTAs do). */
  requireTLS: z.boolean().default(false),
  tls: Tls.default({ rejectUnauthorized: false }),
});

/** An egress IP, kept in one canonical spelling so that headers and config compare equal. */
const EgressIp = z.string().transform((s, ctx) => {
  const ip = canonicalIp(s);
  if (ip === null) {
    ctx.addIssue({ code: 'custom', message: 'expected an IPv4 or IPv6 address' });
    return z.NEVER;
  }
  return ip;
});

// --- Reputation sources (optional; each absent block means no lookups and no series) ---------

const DNS_NAME_RE = /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]\.?$/;
const DnsName = (what: string) => z.string({ error: `expected ${what}` }).regex(DNS_NAME_RE, { error: `expected ${what}` });

/** A DNS server: an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`, `192.0.2.53`). */
const DnsServer = z.string().refine(
  (s) => {
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s) ?? /^([0-9.]+)(?::(\d{1,5}))?$/.exec(s) ?? /^([0-9A-Fa-f:]+)()$/.exec(s);
    return m !== null && canonicalIp(m[1]) !== null && (m[2] === undefined || m[2] === '' || (Number(m[2]) >= 1 && Number(m[2]) <= 65535));
  },
  { error: 'expected a DNS server as IP or IP:port, e.g. "127.0.0.1:5353" or "[::1]:53"' },
);

const HttpUrl = z.string().refine(
  (s) => {
    try {
      return ['http:', 'https:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  },
  { error: 'expected an http(s) URL' },
);

/** Microsoft SNDS automated access: the data feed; ipStatus.aspx is read from the same directory. */
export const SNDS_DEFAULT_URL = 'https://sendersupport.olc.protection.outlook.com/snds/data.aspx';
/** Gmail Postmaster Tools API root and Google's token endpoint. */
export const POSTMASTER_DEFAULT_ROOT_URL = 'https://gmailpostmastertools.googleapis.com/';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

export const ReputationSchema = z.strictObject({
  /** DNS blocklists: every path IP x zone, through these resolvers (default: the system's). */
  dnsbl: z
    .strictObject({
      zones: z.array(DnsName('a DNSBL zone such as zen.spamhaus.org')).min(1, { error: 'expected at least one zone' }),
      /** Some lists refuse queries from public resolvers: name your own (an rbldnsd mirror, a local resolver). */
      servers: z.array(DnsServer).min(1).optional(),
      /** How often every IP x zone is looked up. Default 15m. */
      interval: Duration.prefault('15m'),
    })
    .optional(),
  /** Forward-confirmed reverse DNS, HELO and SPF of every path IP, through dns.servers (default: the system's). */
  hygiene: z.strictObject({ interval: Duration.prefault('1h') }).optional(),
  /** Microsoft SNDS (Smart Network Data Services) automated access. */
  snds: z
    .strictObject({
      key: Secret,
      /** The data.aspx URL. */
      url: HttpUrl.default(SNDS_DEFAULT_URL),
      interval: Duration.prefault('1h'),
    })
    .optional(),
  /** Gmail Postmaster Tools API v2: daily statistics and compliance of your sending domains. */
  postmaster: z
    .strictObject({
      domains: z.array(DnsName('a domain name')).min(1, { error: 'expected at least one domain' }),
      oauth2: z.strictObject({
        clientId: z.string().min(1),
        clientSecret: Secret.optional(),
        refreshToken: Secret,
        /** Default Google's token endpoint. */
        tokenUrl: HttpUrl.default(GOOGLE_TOKEN_URL),
      }),
      rootUrl: HttpUrl.default(POSTMASTER_DEFAULT_ROOT_URL),
      interval: Duration.prefault('1h'),
    })
    .optional(),
});

export const PathSchema = z
  .strictObject({
    name: Name,
    smtp: SmtpRelay.optional(),
    mx: DirectMx.optional(),
    /** Source IP for the connection (the egress being measured). */
    localAddress: IpAddress.optional(),
    /**
     * The egress IPs the providers should see for this path (default: localAddress, else
     * mx.localAddress, when set): checked against each copy's ingress IP, and the IPs whose
     * reputation is watched (DNSBLs, SNDS, DNS hygiene).
     */
    ips: z.array(EgressIp).min(1, { error: 'expected at least one IP address (or leave ips out)' }).optional(),
    /**
     * Fleet mode: only these agents (agent.name) can use this path, e.g. the host that owns its
     * source IP. Default: any agent.
     */
    agents: z.array(Name).min(1, { error: 'expected at least one agent name (or leave agents out)' }).optional(),
    /** Extra headers on every probe of this path, e.g. to pick an MTA pool. */
    headers: z.record(z.string(), Template).default({}),
    /** Most probes per second on this path. Default: no limit. */
    rateLimit: z.number().positive().optional(),
    /** Bounds one SMTP transaction (connect to final reply). Default 60s. */
    timeout: Duration.prefault('60s'),
  })
  .superRefine((p, ctx) => {
    if ((p.smtp === undefined) === (p.mx === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of smtp (relay mode) or mx (direct-to-MX mode)' });
    }
  });

export const SeedSchema = z.strictObject({
  name: Name,
  address: Email,
  provider: z.string(),
  imap: z
    .strictObject({
      host: z.string().optional(),
      port: Port.optional(),
      secure: z.boolean().optional(),
      tls: Tls.optional(),
      user: z.string(),
      password: Secret.optional(),
      oauth2: OAuth2.optional(),
    })
    .superRefine((i, ctx) => {
      if ((i.password === undefined) === (i.oauth2 === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'expected exactly one of password or oauth2' });
      }
    }),
  /** Override folder discovery (names as the server lists them). */
  folders: z.strictObject({ spam: z.string().optional(), trash: z.string().optional() }).optional(),
  /** Trusted authserv-ids of the provider's Authentication-Results; default: the preset's. */
  authservIds: z.array(z.string()).optional(),
  /** After a probe is observed: keep it, delete it, or move it to Trash. Default: watch.cleanup. */
  cleanup: z.enum(['keep', 'delete', 'trash']).optional(),
});

export const ConfigSchema = z
  .strictObject({
    /** HTTP listen address host:port. Default 127.0.0.1:9464. */
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:9464' })
      .refine((s) => {
        const port = Number(s.slice(s.lastIndexOf(':') + 1));
        return port >= 0 && port <= 65535;
      }, { error: 'expected host:port with a port from 0 to 65535 (0: any free port)' })
      .default('127.0.0.1:9464'),
    /** Directory of the ledger (SQLite) and the OAuth2 store key. Relative to the config file. Default ./data. */
    dataDir: z.string().default('./data'),
    /** This agent in a fleet: its name is recorded on the probes it sends and the copies it sees. */
    agent: z
      .strictObject({
        /** Default: the hostname. */
        name: Name.optional(),
      })
      .default({}),
    /**
     * Where the ledger lives. Absent: SQLite in dataDir (one agent). `postgres`: a PostgreSQL
     * database several agents share; the URL (postgres://user:password@host:port/db) is a secret.
     */
    ledger: z
      .strictObject({
        postgres: z.strictObject({ url: Secret }),
      })
      .optional(),
    /** One probe cycle (every path x every seed). node-cron, 5 fields or 6 with seconds. Default every 5 minutes. */
    schedule: CronExpr.default('*/5 * * * *'),
    /** Random delay added to each cycle start. Default 0s. */
    jitter: Duration.prefault('0s'),
    /** A probe not seen by then is missing. Default 30m. */
    deadline: Duration.prefault('30m'),
    /** Sends in flight at once during a cycle. Default 8. */
    concurrency: z.number().int().min(1).max(256).default(8),
    probe: z.strictObject({
      from: z.string(),
      subject: Template.default('Your weekly digest {{id}}'),
      text: Template.optional(),
      html: Template.optional(),
      /** URL (https:) or mailto: for List-Unsubscribe; adds one-click List-Unsubscribe-Post for https. */
      listUnsubscribe: Template.optional(),
      dkim: z
        .strictObject({ domain: z.string(), selector: z.string(), privateKey: Secret })
        .optional(),
    }),
    dns: z.strictObject({ servers: z.array(z.string()).min(1) }).optional(),
    watch: z
      .strictObject({
        /** How often folders without IDLE (spam, tabs) are polled. Default 30s. */
        pollInterval: Duration.prefault('30s'),
        /**
         * How often a folder watched by IDLE gets its safety check (a NOOP, a scan only when
         * it shows a push was lost). It is also what proves the folder seen up to a moment,
         * so a probe is concluded missing up to this long after its deadline. Default 2m:
         * at 500 seeds (1,250 IDLE sessions) a check every 30 s was the agent's largest idle
         * cost (docs/benchmark.md).
         */
        idleCheck: Duration.prefault('2m'),
        /**
         * A probe with no copy is concluded missing only once its seed's folders have been
         * scanned from this long after its deadline. A provider stamps a copy (Received,
         * whole seconds) when it takes it; filing it into the folder can take a little
         * longer, and such a copy arrived in time: it must count as placed, not missing + late.
         * Default: a tenth of the deadline, at least 1s, at most 1m (load-config.ts).
         */
        arrivalGrace: Duration.optional(),
        /** Default cleanup after observation. Default trash. */
        cleanup: z.enum(['keep', 'delete', 'trash']).default('trash'),
      })
      .default({ pollInterval: 30_000, idleCheck: 120_000, cleanup: 'trash' } as never),
    http: z
      .strictObject({
        /** Bearer token protecting /api and pages (and /metrics when protectMetrics). */
        token: Secret.optional(),
        protectMetrics: z.boolean().default(false),
        /** Serve POST /-/reload (reload the config, as SIGHUP does). Default false. */
        reload: z.boolean().default(false),
      })
      .default({ protectMetrics: false, reload: false }),
    /** Optional: e-mail the weekly report, through an SMTP relay of its own (not a probe path). */
    report: z
      .strictObject({
        email: z.strictObject({
          /** When to send (node-cron). Default Monday 08:00 (server time). */
          schedule: CronExpr.default('0 8 * * 1'),
          from: z.string(),
          to: z.array(Email).min(1, { error: 'expected at least one recipient' }),
          subject: z.string().default('seedwatch weekly inbox placement report'),
          smtp: SmtpRelay.refine((r) => r.auth?.oauth2 === undefined, {
            error: 'the report relay supports password authentication only (auth: { user, pass })',
            path: ['auth', 'oauth2'],
          }),
        }),
      })
      .optional(),
    /** Optional: the providers' own view of each path IP (see ReputationSchema). */
    reputation: ReputationSchema.optional(),
    paths: z.array(PathSchema).min(1, { error: 'expected at least one path' }),
    seeds: z.array(SeedSchema).min(1, { error: 'expected at least one seed' }),
  })
  .superRefine((c, ctx) => {
    const seen = (items: { name: string }[], key: 'paths' | 'seeds') => {
      const names = new Map<string, number>();
      items.forEach((item, i) => {
        if (names.has(item.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [key, i, 'name'],
            message: `duplicate ${key === 'paths' ? 'path' : 'seed'} name "${item.name}" (also ${key}[${names.get(item.name)}])`,
          });
        } else names.set(item.name, i);
      });
    };
    seen(c.paths, 'paths');
    seen(c.seeds, 'seeds');
    // An IP listed under two paths could not tell which path a copy left through.
    const owner = new Map<string, number>();
    c.paths.forEach((p, i) =>
      (p.ips ?? []).forEach((ip, j) => {
        const o = owner.get(ip);
        if (o === undefined) owner.set(ip, i);
        else if (o !== i) {
          ctx.addIssue({ code: 'custom', path: ['paths', i, 'ips', j], message: `${ip} is also an egress IP of path "${c.paths[o].name}" (paths[${o}]); an IP belongs to one path only` });
        }
      }),
    );
  });

export type RawConfig = z.infer<typeof ConfigSchema>;
export type PathConfig = RawConfig['paths'][number];
export type SeedConfigRaw = RawConfig['seeds'][number];
