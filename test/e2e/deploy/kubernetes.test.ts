/**
 * deploy/kubernetes/base: the committed manifests are exactly what the generator renders,
 * every document validates against its kind's schema (kubernetes-models), the PrometheusRule
 * carries the mixin's rule files group for group, the dashboard ConfigMaps carry the committed
 * dashboard JSON for Grafana's sidecar, the ConfigMap's config is a valid seedwatch config,
 * and the objects agree with each other (selectors, ports, names).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../../agent/config/load-config.js';
import { buildRules } from '../../../dashboards/src/index.js';
import { renderBase } from '../../../deploy/kubernetes/src/manifests.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BASE = join(ROOT, 'deploy/kubernetes/base');

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };
type Validator = (doc: Doc) => void;

/** kind → the typed model that validates it; a kind without a model fails the test. */
const MODELS: Record<string, Validator> = {
  ServiceAccount: (d) => new ServiceAccount(d as never).validate(),
  ConfigMap: (d) => new ConfigMap(d as never).validate(),
  StatefulSet: (d) => new StatefulSet(d as never).validate(),
  Service: (d) => new Service(d as never).validate(),
  PodDisruptionBudget: (d) => new PodDisruptionBudget(d as never).validate(),
  ServiceMonitor: (d) => new ServiceMonitor(d as never).validate(),
  PrometheusRule: (d) => new PrometheusRule(d as never).validate(),
};

function committedFiles(): string[] {
  return readdirSync(BASE).sort();
}

function committedDocs(): Doc[] {
  return committedFiles()
    .filter((f) => f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(BASE, f), 'utf8')).map((d) => d.toJS() as Doc));
}

function byKind(kind: string): Doc[] {
  return committedDocs().filter((d) => d.kind === kind);
}

describe('Kubernetes manifests', () => {
  it('are committed exactly as the generator renders them (regenerate: see the files\' header)', () => {
    const rendered = renderBase();
    expect(committedFiles()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) expect(readFileSync(join(BASE, file), 'utf8'), file).toBe(text);
  });

  it('validate against their kinds\' schemas', () => {
    const docs = committedDocs();
    expect(docs.map((d) => d.kind).sort()).toEqual(
      ['ConfigMap', 'ConfigMap', 'ConfigMap', 'ConfigMap', 'PodDisruptionBudget', 'PrometheusRule', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet'],
    );
    for (const d of docs) {
      const validate = MODELS[d.kind];
      expect(validate, `a model for ${d.kind}`).toBeDefined();
      validate(d);
    }
  });

  it('the same validation rejects a broken manifest', () => {
    const sts = byKind('StatefulSet')[0] as Doc & { spec: { replicas: unknown; template: { spec: { containers: { ports: unknown[] }[] } } } };
    expect(() => MODELS.StatefulSet({ ...sts, spec: { ...sts.spec, replicas: 'one' } })).toThrow(/replicas/);
    const broken = structuredClone(sts);
    broken.spec.template.spec.containers[0].ports = [{ name: 'http' }];
    expect(() => MODELS.StatefulSet(broken)).toThrow(/containerPort/);
  });

  it('the PrometheusRule carries the mixin\'s rule files, group for group', () => {
    const ruleFiles = readdirSync(join(ROOT, 'dashboards/prometheus')).filter((f) => f.endsWith('.yml')).sort();
    // Every committed rule file, in the mixin's order (the generator's order).
    const order = buildRules().map((f) => f.file);
    expect([...order].sort()).toEqual(ruleFiles);
    const fromMixin = order.flatMap((f) => (parse(readFileSync(join(ROOT, 'dashboards/prometheus', f), 'utf8')) as { groups: unknown[] }).groups);
    expect(fromMixin.length).toBeGreaterThanOrEqual(ruleFiles.length);
    const [rule] = byKind('PrometheusRule') as (Doc & { spec: { groups: unknown[] } })[];
    expect(rule.spec.groups).toEqual(fromMixin);
  });

  it('ships every dashboard as a ConfigMap for Grafana\'s sidecar, identical to dashboards/*.json', () => {
    const dashboards = readdirSync(join(ROOT, 'dashboards')).filter((f) => f.endsWith('.json')).sort();
    const maps = byKind('ConfigMap').filter((d) => d.metadata.labels?.grafana_dashboard === '1') as (Doc & { data: Record<string, string> })[];
    expect(maps.flatMap((m) => Object.keys(m.data)).sort()).toEqual(dashboards);
    for (const m of maps) {
      for (const [file, json] of Object.entries(m.data)) expect(json, file).toBe(readFileSync(join(ROOT, 'dashboards', file), 'utf8'));
    }
  });

  it('configures the agent with a valid seedwatch.yaml: listening on the container port, ledger on the volume, secrets from the Secret', () => {
    const cm = byKind('ConfigMap').find((d) => d.metadata.name === 'seedwatch-config') as Doc & { data: Record<string, string> };
    const cfg = parseConfig(cm.data['seedwatch.yaml'], 'configmap/seedwatch-config/seedwatch.yaml');
    expect(cfg.listen).toBe('0.0.0.0:9464');
    expect(cfg.dataDirAbs).toBe('/data');
    const sts = byKind('StatefulSet')[0] as Doc & {
      spec: {
        serviceName: string;
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            containers: { ports: { name: string; containerPort: number }[]; volumeMounts: { name: string; mountPath: string }[]; args: string[] }[];
            volumes: { name: string; secret?: { secretName: string } }[];
          };
        };
        volumeClaimTemplates: { metadata: { name: string } }[];
      };
    };
    const container = sts.spec.template.spec.containers[0];
    const mount = (name: string) => container.volumeMounts.find((m) => m.name === name)?.mountPath;
    expect(container.ports[0].containerPort).toBe(9464);
    expect(mount('data')).toBe('/data');
    expect(sts.spec.volumeClaimTemplates.map((v) => v.metadata.name)).toEqual(['data']);
    expect(container.args).toEqual(['run', '--config', `${mount('config')}/seedwatch.yaml`]);
    const secretDir = mount('secrets');
    const secretFiles = cm.data['seedwatch.yaml'].match(/file: (\S+)/g)?.map((m) => m.slice('file: '.length)) ?? [];
    expect(secretFiles.length).toBeGreaterThan(0);
    for (const f of secretFiles) expect(dirname(f)).toBe(secretDir);
    expect(sts.spec.template.spec.volumes.find((v) => v.name === 'secrets')?.secret?.secretName).toBe('seedwatch-secrets');

    // Service, ServiceMonitor and PDB select the pods; the Service is named like the rules' job.
    const podLabels = sts.spec.template.metadata.labels;
    const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
    const svc = byKind('Service')[0] as Doc & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } };
    expect(matches(svc.spec.selector)).toBe(true);
    expect(svc.metadata.name).toBe('seedwatch');
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    expect(svc.spec.ports[0].targetPort).toBe(container.ports[0].name);
    const sm = byKind('ServiceMonitor')[0] as Doc & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } };
    expect(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v)).toBe(true);
    expect(sm.spec.endpoints[0].port).toBe(svc.spec.ports[0].name);
    const pdb = byKind('PodDisruptionBudget')[0] as Doc & { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
  });

  it('lists every manifest in the kustomization', () => {
    const k = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect([...k.resources].sort()).toEqual(committedFiles().filter((f) => f !== 'kustomization.yaml'));
  });
});
