/** What the sandbox did, per provider × path: the ground truth tests and the demo log compare against. */
import type { DeliveryPlan, PlannedCopy, SandboxProvider } from './behaviour.js';

export interface RouteStats {
  /** Recipients accepted with 250. */
  accepted: number;
  /** Accepted while the route's incident was on. */
  duringIncident: number;
  /** Accepted and then dropped. */
  lost: number;
  /** Copies deposited (duplicates included), by where they went. */
  delivered: { inbox: number; spam: number; primary: number; promotions: number; social: number; updates: number; forums: number };
  /** Copies beyond the first. */
  duplicates: number;
}

export type SandboxStatsSnapshot = Record<string, RouteStats>;

export class SandboxStats {
  private readonly routes = new Map<string, RouteStats>();

  private route(provider: SandboxProvider, path: string): RouteStats {
    const key = `${provider}/${path}`;
    let r = this.routes.get(key);
    if (!r) {
      r = {
        accepted: 0,
        duringIncident: 0,
        lost: 0,
        delivered: { inbox: 0, spam: 0, primary: 0, promotions: 0, social: 0, updates: 0, forums: 0 },
        duplicates: 0,
      };
      this.routes.set(key, r);
    }
    return r;
  }

  accepted(provider: SandboxProvider, path: string, plan: DeliveryPlan): void {
    const r = this.route(provider, path);
    r.accepted++;
    if (plan.incident) r.duringIncident++;
    if (plan.lost) r.lost++;
  }

  delivered(provider: SandboxProvider, path: string, copy: PlannedCopy, duplicate: boolean): void {
    const r = this.route(provider, path);
    r.delivered[copy.folder]++;
    if (copy.tab) r.delivered[copy.tab]++;
    if (duplicate) r.duplicates++;
  }

  /** A deep copy keyed `provider/path`. */
  snapshot(): SandboxStatsSnapshot {
    return Object.fromEntries([...this.routes].map(([k, v]) => [k, structuredClone(v)]));
  }
}
