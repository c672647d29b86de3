/**
 * deploy/compose/compose.yaml, checked without a container engine: every file it builds from
 * or mounts exists; the mounts are laid out in a scratch root as the containers would see
 * them, and the real tools check what lands there (promtool check rules / check config on
 * Prometheus' files, amtool check-config on Alertmanager's); Grafana's provider points at the
 * directory the dashboards are mounted in; the services find each other by the names and
 * ports the configs use; ports are published on loopback only; the example user config is a
 * valid seedwatch config for the stack.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../agent/config/load-config.js';
import { defaultConfig } from '../../../dashboards/src/config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const COMPOSE_DIR = join(ROOT, 'deploy/compose');

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
}
const compose = parse(readFileSync(join(COMPOSE_DIR, 'compose.yaml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };

interface Mount {
  service: string;
  source: string;
  target: string;
}
/** Bind mounts (a path source); named volumes are declared under `volumes:`. */
const binds: Mount[] = Object.entries(compose.services).flatMap(([service, s]) =>
  (s.volumes ?? []).flatMap((v) => {
    const [source, target] = v.split(':');
    if (!source.startsWith('.') && !isAbsolute(source)) return [];
    return [{ service, source: resolve(COMPOSE_DIR, source), target }];
  }),
);
const namedVolumes = Object.values(compose.services).flatMap((s) =>
  (s.volumes ?? []).map((v) => v.split(':')[0]).filter((src) => !src.startsWith('.') && !isAbsolute(src)),
);

const scratch = mkdtempSync(join(tmpdir(), 'seedwatch-compose-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `service`'s filesystem as far as its bind mounts make it: scratch/<service>/<target>. */
function mountedRoot(service: string): string {
  const root = join(scratch, service);
  if (!existsSync(root)) {
    for (const m of binds.filter((b) => b.service === service)) {
      mkdirSync(dirname(join(root, m.target)), { recursive: true });
      symlinkSync(m.source, join(root, m.target));
    }
  }
  return root;
}

function tool(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('compose stack', () => {
  it('builds seedwatch from the repository Dockerfile and mounts only files that exist', () => {
    const build = compose.services.seedwatch.build!;
    expect(existsSync(join(resolve(COMPOSE_DIR, build.context), build.dockerfile))).toBe(true);
    expect(resolve(COMPOSE_DIR, build.context)).toBe(ROOT);
    expect(binds.length).toBeGreaterThan(5);
    for (const m of binds) expect(existsSync(m.source), `${m.service}: ${m.source}`).toBe(true);
    for (const v of namedVolumes) expect(Object.keys(compose.volumes), v).toContain(v);
    // Every other service runs a pinned upstream image.
    for (const [name, s] of Object.entries(compose.services)) if (!s.build) expect(s.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
  });

  it('publishes every port on loopback only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBe(4);
    for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('mounts every shipped rule file into Prometheus, and promtool accepts them there', async () => {
    const shipped = readdirSync(join(ROOT, 'dashboards/prometheus')).filter((f) => f.endsWith('.yml')).sort();
    expect(shipped.length).toBeGreaterThan(1);
    const root = mountedRoot('prometheus');
    // The rule files as the container sees them: where prometheus.yml's rule_files glob looks.
    const prom = parse(readFileSync(join(root, '/etc/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[] };
    expect(prom.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    const inContainer = readdirSync(join(root, '/etc/prometheus/rules')).filter((f) => f.endsWith('.yml')).sort();
    expect(inContainer).toEqual(shipped);
    const rules = await tool('promtool', ['check', 'rules', ...inContainer.map((f) => join(root, '/etc/prometheus/rules', f))]);
    expect(rules.code, rules.output).toBe(0);
    expect(rules.output).toMatch(/SUCCESS: \d+ rules found/);

    // The Prometheus config as the container reads it: absolute paths point into the mounts.
    const config = readFileSync(join(root, '/etc/prometheus/prometheus.yml'), 'utf8').replaceAll('/etc/prometheus/', `${root}/etc/prometheus/`);
    const configFile = join(scratch, 'prometheus-check.yml');
    writeFileSync(configFile, config);
    const checked = await tool('promtool', ['check', 'config', configFile]);
    expect(checked.code, checked.output).toBe(0);
    expect(checked.output).toContain(`SUCCESS: ${shipped.length} rule files found`);
  });

  it('Prometheus scrapes seedwatch as the job the rules select, and alerts go to Alertmanager', () => {
    const root = mountedRoot('prometheus');
    const prom = parse(readFileSync(join(root, '/etc/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const job = prom.scrape_configs.find((j) => defaultConfig.selector === `job="${j.job_name}"`);
    expect(job, `a scrape job matching ${defaultConfig.selector}`).toBeDefined();
    const containerPort = compose.services.seedwatch.ports![0].split(':').pop();
    expect(job!.static_configs[0].targets).toEqual([`seedwatch:${containerPort}`]);
    expect(prom.alerting.alertmanagers[0].static_configs[0].targets).toEqual([`alertmanager:${compose.services.alertmanager.ports![0].split(':').pop()}`]);
  });

  it('mounts the shipped Alertmanager example where its command reads it, and amtool accepts it', async () => {
    const flag = compose.services.alertmanager.command!.find((c) => c.startsWith('--config.file='))!;
    const file = flag.slice('--config.file='.length);
    const mount = binds.find((b) => b.service === 'alertmanager' && b.target === file);
    expect(mount?.source).toBe(join(ROOT, 'dashboards/alertmanager/alertmanager.yml'));
    const r = await tool('amtool', ['check-config', join(mountedRoot('alertmanager'), file)]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it('provisions Grafana with the Prometheus datasource and every shipped dashboard in the provider\'s path', () => {
    const root = mountedRoot('grafana');
    const provider = parse(readFileSync(join(root, '/etc/grafana/provisioning/dashboards/seedwatch.yml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    const dir = provider.providers[0].options.path;
    const mounted = binds.filter((b) => b.service === 'grafana' && dirname(b.target) === dir);
    const shipped = readdirSync(join(ROOT, 'dashboards')).filter((f) => f.endsWith('.json')).map((f) => join(ROOT, 'dashboards', f));
    expect(mounted.map((m) => m.source).sort()).toEqual(shipped.sort());
    const ds = parse(readFileSync(join(root, '/etc/grafana/provisioning/datasources/seedwatch.yml'), 'utf8')) as {
      datasources: { type: string; url: string; isDefault: boolean }[];
    };
    expect(ds.datasources[0].type).toBe('prometheus');
    expect(ds.datasources[0].isDefault).toBe(true);
    expect(ds.datasources[0].url).toBe('http://prometheus:9090');
    expect(compose.services.prometheus.ports![0].endsWith(':9090')).toBe(true);
  });

  it('mounts a config directory git keeps empty (the demo), and the example user config is valid for the stack', () => {
    const configMount = binds.find((b) => b.service === 'seedwatch' && b.target === '/etc/seedwatch');
    expect(configMount).toBeDefined();
    // As committed it holds no seedwatch.yaml (git ignores one put there): the entrypoint starts the demo.
    expect(readFileSync(join(configMount!.source, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const example = join(configMount!.source, 'seedwatch.yaml.example');
    const cfg = parseConfig(readFileSync(example, 'utf8'), example);
    expect(cfg.listen).toBe('0.0.0.0:9464');
    expect(cfg.dataDirAbs).toBe('/data');
    expect(compose.services.seedwatch.volumes).toContain('seedwatch-data:/data');
  });
});
