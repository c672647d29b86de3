// The Kubernetes manifests of seedwatch as typed objects (kubernetes-models, whose
// validate() checks each one against the API's JSON schema). The PrometheusRule and the
// Grafana dashboard ConfigMaps are built from the mixin's own sources (dashboards/src), so a
// change to a rule or a panel changes these manifests on the next `generate`.

import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { stringify } from 'yaml';
import { buildDashboards, buildRules, defaultConfig, renderDashboard, type MixinConfig } from '../../../dashboards/src/index.js';
import { VERSION } from '../../../agent/version.js';

/** A typed model: validate() throws on a schema violation; toJSON() is the manifest. */
export interface Manifest {
  validate(): void;
  toJSON(): unknown;
}

export interface ManifestFile {
  /** File name inside deploy/kubernetes/base/. */
  file: string;
  objects: Manifest[];
}

const NAME = 'seedwatch';
/** The image's uid/gid (Dockerfile `USER 10001:10001`). */
const UID = 10001;
/** The port the image exposes; the config's `listen` must use it. */
const HTTP_PORT = 9464;
const CONFIG_DIR = '/etc/seedwatch';
const SECRETS_DIR = '/run/secrets/seedwatch';
const DATA_DIR = '/data';
/** The Secret users create with their seed passwords and tokens (kubectl create secret …). */
export const SECRET_NAME = 'seedwatch-secrets';
export const CONFIG_MAP_NAME = 'seedwatch-config';

const selectorLabels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/instance': NAME };
const labels = { ...selectorLabels, 'app.kubernetes.io/version': VERSION, 'app.kubernetes.io/part-of': NAME };

/**
 * The config the StatefulSet starts with: the example's two paths and Gmail + Outlook seeds,
 * listening where the Service and probes expect it, the ledger on the volume, every secret a
 * file of the Secret. An overlay replaces it (configMapGenerator, behavior: replace).
 */
export function exampleConfig(): object {
  return {
    listen: `0.0.0.0:${HTTP_PORT}`,
    dataDir: DATA_DIR,
    schedule: '*/5 * * * *',
    deadline: '30m',
    probe: { from: 'Deliverability Probe <probe@mail.example.com>' },
    paths: [
      { name: 'peering', smtp: { host: 'mta-peering.mail.example.com', port: 587 }, headers: { 'X-Virtual-MTA': 'peering' } },
      { name: 'transit', smtp: { host: 'mta-transit.mail.example.com', port: 587 }, headers: { 'X-Virtual-MTA': 'transit' } },
    ],
    seeds: [
      {
        name: 'gmail-1',
        address: 'seed.one@gmail.com',
        provider: 'gmail',
        imap: { user: 'seed.one@gmail.com', password: { file: `${SECRETS_DIR}/gmail-1-password` } },
      },
      {
        name: 'outlook-1',
        address: 'seed.two@outlook.com',
        provider: 'outlook',
        imap: {
          user: 'seed.two@outlook.com',
          oauth2: { clientId: '00000000-0000-0000-0000-000000000000', refreshToken: { file: `${SECRETS_DIR}/outlook-1-refresh-token` } },
        },
      },
    ],
  };
}

function serviceAccount(): ServiceAccount {
  // The agent never talks to the Kubernetes API.
  return new ServiceAccount({ metadata: { name: NAME, labels }, automountServiceAccountToken: false });
}

function configMap(): ConfigMap {
  return new ConfigMap({
    metadata: { name: CONFIG_MAP_NAME, labels },
    data: { 'seedwatch.yaml': stringify(exampleConfig(), { lineWidth: 0 }) },
  });
}

function service(): Service {
  // Named like the rules' selector (job="seedwatch"): the ServiceMonitor's job label is the
  // Service's name.
  return new Service({
    metadata: { name: NAME, labels },
    spec: {
      selector: selectorLabels,
      ports: [{ name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  });
}

function statefulSet(): StatefulSet {
  const httpGet = (path: string) => ({ path, port: 'http' as const });
  return new StatefulSet({
    metadata: { name: NAME, labels },
    spec: {
      // One writer: the ledger is a SQLite file on the volume (Postgres is for several agents).
      replicas: 1,
      serviceName: NAME,
      selector: { matchLabels: selectorLabels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: false,
          // The agent's shutdown budget is 9 s.
          terminationGracePeriodSeconds: 15,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: UID,
            runAsGroup: UID,
            fsGroup: UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: NAME,
              image: `${NAME}:${VERSION}`,
              args: ['run', '--config', `${CONFIG_DIR}/seedwatch.yaml`],
              ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
              env: [{ name: 'SEEDWATCH_LOG_LEVEL', value: 'info' }],
              startupProbe: { httpGet: httpGet('/healthz'), periodSeconds: 2, failureThreshold: 30 },
              livenessProbe: { httpGet: httpGet('/healthz'), periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
              // Ready once the config is loaded, the ledger writes and every mailbox logged in.
              readinessProbe: { httpGet: httpGet('/readyz'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
              resources: { requests: { cpu: '50m', memory: '160Mi' }, limits: { memory: '512Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'secrets', mountPath: SECRETS_DIR, readOnly: true },
                { name: 'data', mountPath: DATA_DIR },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: CONFIG_MAP_NAME } },
            // Readable by the pod's group (fsGroup) only.
            { name: 'secrets', secret: { secretName: SECRET_NAME, defaultMode: 0o440 } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: selectorLabels },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  });
}

function podDisruptionBudget(): PodDisruptionBudget {
  // One replica cannot stay available through a drain; this makes the one voluntary disruption
  // explicit without blocking node maintenance (minAvailable: 1 would block it forever).
  return new PodDisruptionBudget({
    metadata: { name: NAME, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels } },
  });
}

function serviceMonitor(): ServiceMonitor {
  return new ServiceMonitor({
    metadata: { name: NAME, labels },
    spec: {
      selector: { matchLabels: selectorLabels },
      endpoints: [{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }],
    },
  });
}

/** Every group of every mixin rule file, in file order: the same rules Prometheus loads. */
function prometheusRule(cfg: MixinConfig): PrometheusRule {
  return new PrometheusRule({
    metadata: { name: NAME, labels },
    spec: { groups: buildRules(cfg).flatMap((f) => f.content.groups) },
  });
}

/** One ConfigMap per dashboard, picked up by Grafana's dashboard sidecar. */
function dashboardConfigMaps(cfg: MixinConfig): ConfigMap[] {
  return buildDashboards(cfg).map(
    (d) =>
      new ConfigMap({
        metadata: {
          name: `grafana-dashboard-${d.file.replace(/\.json$/, '')}`,
          labels: { ...labels, grafana_dashboard: '1' },
          annotations: { grafana_folder: 'Seedwatch' },
        },
        data: { [d.file]: renderDashboard(d) },
      }),
  );
}

export function buildManifests(cfg: MixinConfig = defaultConfig): ManifestFile[] {
  return [
    { file: 'serviceaccount.yaml', objects: [serviceAccount()] },
    { file: 'configmap.yaml', objects: [configMap()] },
    { file: 'statefulset.yaml', objects: [statefulSet()] },
    { file: 'service.yaml', objects: [service()] },
    { file: 'poddisruptionbudget.yaml', objects: [podDisruptionBudget()] },
    { file: 'servicemonitor.yaml', objects: [serviceMonitor()] },
    { file: 'prometheusrule.yaml', objects: [prometheusRule(cfg)] },
    { file: 'grafana-dashboards.yaml', objects: dashboardConfigMaps(cfg) },
  ];
}

const HEADER =
  '# Generated by deploy/kubernetes/src (buildManifests); do not edit by hand.\n' +
  '# Regenerate: npx tsc -p tsconfig.json && node dist/deploy/kubernetes/src/generate.js\n';

/** YAML text of one manifest file (documents separated by ---), exactly as committed. */
export function renderManifestFile(f: ManifestFile): string {
  return HEADER + f.objects.map((o) => stringify(o.toJSON(), { lineWidth: 0 })).join('---\n');
}

/** kustomization.yaml of the base: every generated file, in order. */
export function renderKustomization(files: ManifestFile[]): string {
  return (
    HEADER +
    stringify(
      {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: files.map((f) => f.file),
        images: [{ name: NAME, newTag: VERSION }],
      },
      { lineWidth: 0 },
    )
  );
}

/** Every file of deploy/kubernetes/base/: name → text. Validates every object first. */
export function renderBase(cfg: MixinConfig = defaultConfig): Map<string, string> {
  const files = buildManifests(cfg);
  for (const f of files) for (const o of f.objects) o.validate();
  const out = new Map<string, string>();
  for (const f of files) out.set(f.file, renderManifestFile(f));
  out.set('kustomization.yaml', renderKustomization(files));
  return out;
}
