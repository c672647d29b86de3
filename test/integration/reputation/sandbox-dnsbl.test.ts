/**
 * The demo's DNSBL: the sandbox lists a path's egress IP while that path's incident is on, and
 * the unchanged agent, started on the sandbox's generated config (as `seedwatch demo` does),
 * shows the listing in its metrics, the API and the status page — next to the probes, which the
 * sandbox providers record as coming from the paths' own egress IPs (no mismatch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../../agent/agent.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { silentLogger } from '../../../agent/log.js';
import { createResolver } from '../../../agent/reputation/dns-resolver.js';
import { lookupDnsbl } from '../../../agent/reputation/dnsbl.js';
import { DEMO_PASSWORD_ENV } from '../../../sandbox/demo-config.js';
import { SANDBOX_DNSBL_ZONE, startSandbox, type Sandbox } from '../../../sandbox/start-sandbox.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLEAN } from '../sandbox/sandbox-helpers.js';

const PASSWORD = 'sandbox-dnsbl-pw';
let sandbox: Sandbox;
let agent: Agent;
let dir: string;

beforeAll(async () => {
  // Transit's incident is on for the whole test; peering has none.
  sandbox = await startSandbox({
    providers: ['gmail', 'yahoo'],
    password: PASSWORD,
    oauth2Providers: [],
    behaviour: { all: CLEAN, incidents: [{ provider: 'gmail', path: 'transit', periodMs: 60_000, durationMs: 60_000, offsetMs: 0, spamShare: 1 }] },
  });
  dir = mkdtempSync(join(tmpdir(), 'sw-sandbox-dnsbl-'));
  const yaml = sandbox.configYaml({ listen: '127.0.0.1:0', dataDir: dir, schedule: '*/2 * * * * *', deadline: '30s', pollInterval: '1s', dnsblInterval: '1s' });
  agent = await startAgent({ config: parseConfig(yaml, join(dir, 'demo.yaml'), { baseDir: dir }), env: { [DEMO_PASSWORD_ENV]: PASSWORD }, logger: silentLogger(), pages: true });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the sandbox DNSBL', () => {
  it('answers like rbldnsd: the transit IP listed with a reason while its incident is on, peering not, other zones refused', async () => {
    const r = createResolver([sandbox.dnsbl!.server], { timeoutMs: 1_000, tries: 1 });
    const transit = sandbox.paths.find((p) => p.name === 'transit')!.ip;
    const peering = sandbox.paths.find((p) => p.name === 'peering')!.ip;
    expect(await lookupDnsbl(r, transit, SANDBOX_DNSBL_ZONE)).toEqual({
      status: 'listed',
      codes: ['127.0.0.2'],
      reasons: [`Listed by the seedwatch sandbox: spam-trap hits from ${transit} (path transit) during its incident`],
    });
    expect(await lookupDnsbl(r, peering, SANDBOX_DNSBL_ZONE)).toEqual({ status: 'clear' });
    expect(await lookupDnsbl(r, transit, 'zen.spamhaus.org')).toMatchObject({ status: 'error', kind: 'refused' });
  });

  it('the agent on the demo config shows the listing in /metrics, /api/reputation and on the status page; the probes came from their own IPs', async () => {
    const get = async (path: string) => {
      const res = await fetch(agent.url + path);
      return { status: res.status, text: await res.text() };
    };
    let metrics = '';
    for (let i = 0; i < 100; i++) {
      metrics = (await get('/metrics')).text;
      const copies = [...metrics.matchAll(/^seedwatch_placements_total\{[^}]*path="peering"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      if (metrics.includes('seedwatch_dnsbl_listed{path="transit"') && copies >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(metrics).toContain(`seedwatch_dnsbl_listed{path="transit",ip="198.51.100.7",zone="${SANDBOX_DNSBL_ZONE}"} 1`);
    expect(metrics).toContain(`seedwatch_dnsbl_listed{path="peering",ip="192.0.2.10",zone="${SANDBOX_DNSBL_ZONE}"} 0`);
    // Every first copy whose header block was read names its path's own egress IP; a copy read
    // without its headers (the body token found it) is "unknown", never a guess. Probes keep
    // arriving: compare the ledger with metrics read before and after it, unchanged between.
    const ips: Record<string, string> = Object.fromEntries(sandbox.paths.map((p) => [p.name, p.ip]));
    const egress = async () => {
      await agent.metrics.settled();
      const text = (await get('/metrics')).text;
      const sum = (name: string) => [...text.matchAll(new RegExp(`^seedwatch_egress_ip_${name}_total\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
      return { mismatch: sum('mismatch'), unknown: sum('unknown') };
    };
    let compared = false;
    for (let attempt = 0; attempt < 10 && !compared; attempt++) {
      const before = await egress();
      let seen = 0;
      let unread = 0;
      for (const p of await agent.ledger.listProbes({ limit: 1000 })) {
        const first = (await agent.ledger.observations(p.id)).find((o) => o.copyNumber === 1);
        if (!first || p.status !== 'accepted') continue;
        seen++;
        if (first.evidence.topReceived === undefined) unread++;
        else expect(first.evidence.ingressIp, `${p.path} ${p.seed}`).toBe(ips[p.path]);
      }
      const after = await egress();
      if (JSON.stringify(before) !== JSON.stringify(after)) continue;
      expect(seen).toBeGreaterThanOrEqual(2);
      expect(after).toEqual({ mismatch: 0, unknown: unread });
      compared = true;
    }
    expect(compared).toBe(true);

    const api = JSON.parse((await get('/api/reputation')).text) as { dnsbl: { entries: { path: string; status: string; reasons: string[] }[] } };
    expect(api.dnsbl.entries.find((e) => e.path === 'transit')).toMatchObject({ status: 'listed', reasons: [expect.stringContaining('during its incident')] });

    const page = (await get('/')).text;
    expect(page).toContain('id="reputation"');
    expect(page).toMatch(/data-row="transit\|198\.51\.100\.7"[\s\S]*?listed on bl\.sandbox\.test/);
    expect(page).toMatch(/data-k="ingress" data-verdict="match"/);
  }, 60_000);
});
