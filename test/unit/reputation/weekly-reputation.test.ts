import { describe, expect, it } from 'vitest';
import { buildWeeklyReputation } from '../../../agent/report/weekly-reputation.js';
import type { DnsblState, PostmasterState, SndsState } from '../../../agent/reputation/reputation-state.js';

const days = ['2026-11-16', '2026-11-17', '2026-11-18'];

describe('buildWeeklyReputation', () => {
  it('counts the days listed per path IP and zone, SNDS colours per day, the Postmaster rate per day, inside the period only', () => {
    const dnsbl: DnsblState = {
      entries: [],
      lastRunAtMs: null,
      history: {
        '2026-11-15': { 'transit|198.51.100.7|zen.test': { checks: 96, listed: 96 } }, // before the period
        '2026-11-16': { 'transit|198.51.100.7|zen.test': { checks: 96, listed: 3 }, 'peering|192.0.2.10|zen.test': { checks: 96, listed: 0 } },
        '2026-11-17': { 'transit|198.51.100.7|zen.test': { checks: 96, listed: 0 }, 'peering|192.0.2.10|zen.test': { checks: 0, listed: 0 } },
        '2026-11-18': { 'transit|198.51.100.7|zen.test': { checks: 10, listed: 10 } },
      },
    };
    const snds: SndsState = {
      ips: [],
      malformed: [],
      lastRunAtMs: null,
      lastSuccessAtMs: null,
      history: {
        '2026-11-16': { '198.51.100.7': { path: 'transit', filter: 'YELLOW', complaintRate: 0.001, trapHits: 2, recipients: 10 } },
        '2026-11-18': {
          '198.51.100.7': { path: 'transit', filter: 'RED', complaintRate: 0.02, trapHits: 5, recipients: 10 },
          '203.0.113.9': { path: null, filter: 'GREEN', complaintRate: null, trapHits: 0, recipients: 1 },
        },
      },
    };
    const postmaster: PostmasterState = {
      domains: [],
      lastRunAtMs: null,
      history: { '2026-11-16': { 'mail.example.com': { spamRate: 0.001 } }, '2026-11-17': { 'mail.example.com': { spamRate: 0.004 } } },
    };
    expect(buildWeeklyReputation({ dnsbl, snds, postmaster }, days)).toEqual({
      dnsbl: [
        { path: 'peering', ip: '192.0.2.10', zone: 'zen.test', daysChecked: 1, daysListed: 0, listedDays: [] },
        { path: 'transit', ip: '198.51.100.7', zone: 'zen.test', daysChecked: 3, daysListed: 2, listedDays: ['2026-11-16', '2026-11-18'] },
      ],
      snds: [
        { path: 'transit', ip: '198.51.100.7', days: ['YELLOW', null, 'RED'], trapHits: 7, maxComplaintRate: 0.02 },
        { path: null, ip: '203.0.113.9', days: [null, null, 'GREEN'], trapHits: 0, maxComplaintRate: null },
      ],
      postmaster: [{ domain: 'mail.example.com', days: [0.001, 0.004, null], max: 0.004, latest: 0.004 }],
    });
  });

  it('is null when no source has data in the period', () => {
    expect(buildWeeklyReputation({ dnsbl: null, snds: null, postmaster: null }, days)).toBeNull();
    const old: DnsblState = { entries: [], lastRunAtMs: null, history: { '2026-10-01': { 'a|1.2.3.4|z': { checks: 1, listed: 1 } } } };
    expect(buildWeeklyReputation({ dnsbl: old, snds: null, postmaster: null }, days)).toBeNull();
  });
});
