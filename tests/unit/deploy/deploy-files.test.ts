// The scale-out examples cannot run here (no registry for images), so their structure is checked instead: compose.yaml
// and deploy/k8s/mcpcp.yaml parse, name the services the README promises, run scripts that exist with flags the
// servers accept, probe /readyz and /healthz, take keys from a read-only mount (k8s: a Secret), and the fleet config
// they mount is a valid MCPCP config whose children are sessionless (protocol auto) so any replica can answer. The
// opt-in deploy/k8s/docker-runner.yaml keeps its privileged engine to a sidecar reached through a pod-local socket.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadRunnerConfig, type RunnerConfig } from '../../../config/docker-runner.ts';
import { loadConfig, parseConfig } from '../../../config/load.ts';

const root = resolve(import.meta.dirname, '../../..');
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8');

/** Writes text to a temporary folder and loads it there as `name` (a ConfigMap's file, as the pod sees it). */
async function loadInTemp<T>(name: string, text: string, load: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(resolve(tmpdir(), 'mcpcp-k8s-'));
  try {
    await writeFile(resolve(dir, name), text);
    return await load(resolve(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
}

/** The kit flags every first-party server accepts (servers/_kit/main.ts) plus the channels' own. */
const serverFlags = new Set([
  '--port',
  '--host',
  '--data-dir',
  '--keys-dir',
  '--issuer',
  '--child-id',
  '--agent',
  '--allowed-hosts',
  '--stdio',
  '--store',
  '--bot-runner-url',
  '--bot-runner-id',
  '--runner-config',
]);

function checkServerCommand(command: readonly string[]): void {
  expect(command[0]).toBe('node');
  const script = command[1]!;
  expect(existsSync(resolve(root, script)), script).toBe(true);
  for (const arg of command.slice(2)) if (arg.startsWith('--')) expect(serverFlags, arg).toContain(arg);
}

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as {
    services: Record<string, ComposeService & Record<string, unknown>>;
  };
  const services = compose.services;

  it('runs PostgreSQL, 2 proxy replicas, 2 channels replicas and the bot, code and docker runners', () => {
    expect(Object.keys(services).sort()).toEqual([
      'bot-runner',
      'channels',
      'code-runner',
      'docker-runner',
      'postgres',
      'proxy',
    ]);
    // One docker runner per fleet name: at start it removes every container labelled with it.
    expect(services['docker-runner']!.deploy?.replicas).toBe(1);
    expect(services.proxy!.deploy?.replicas).toBe(2);
    expect(services.channels!.deploy?.replicas).toBe(2);
    expect(services.postgres!.image).toMatch(/^postgres:/);
  });

  it('points the channels replicas at PostgreSQL and waits for it to be healthy', () => {
    expect(services.channels!.environment?.DATABASE_URL).toMatch(
      /^postgres:\/\/mcpcp:.*@postgres:5432\/mcpcp$/,
    );
    expect(services.channels!.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(services.proxy!.depends_on?.channels?.condition).toBe('service_healthy');
  });

  it('starts real scripts with flags the servers accept, and probes /readyz', () => {
    checkServerCommand(services.channels!.command!);
    checkServerCommand(services['bot-runner']!.command!);
    checkServerCommand(services['code-runner']!.command!);
    checkServerCommand(services['docker-runner']!.command!);
    const proxy = services.proxy!.command!;
    expect(existsSync(resolve(root, proxy[1]!))).toBe(true);
    expect(proxy.slice(2, 4)).toEqual(['up', '--config']);
    for (const name of ['channels', 'bot-runner', 'code-runner', 'docker-runner', 'proxy']) {
      expect(services[name]!.healthcheck?.test?.join(' ')).toMatch(/\/readyz/);
    }
    for (const name of ['channels', 'bot-runner', 'code-runner', 'docker-runner']) {
      expect(services.proxy!.depends_on?.[name]?.condition).toBe('service_healthy');
    }
  });

  it('mounts the keys read-only and the fleet config the proxies share', () => {
    for (const name of ['channels', 'bot-runner', 'code-runner', 'docker-runner', 'proxy']) {
      const volumes = services[name]!.volumes ?? [];
      expect(volumes).toContain('./deploy/keys:/keys:ro');
    }
    expect(services.proxy!.volumes).toContain('./deploy/mcpcp.yaml:/config/mcpcp.yaml:ro');
  });

  it('gives the Docker socket to the docker runner only, with a runner file that parses', async () => {
    const socket = '/var/run/docker.sock:/var/run/docker.sock';
    for (const [name, service] of Object.entries(services)) {
      expect(service.volumes ?? [], name).toEqual(
        name === 'docker-runner' ? expect.arrayContaining([socket]) : expect.not.arrayContaining([socket]),
      );
    }
    const command = services['docker-runner']!.command!;
    const file = command[command.indexOf('--runner-config') + 1];
    expect(services['docker-runner']!.volumes).toContain(`./deploy/docker-runner.yaml:${file}:ro`);
    const runner = await loadRunnerConfig(resolve(root, 'deploy/docker-runner.yaml'));
    expect(runner.socket).toBe('/var/run/docker.sock');
    expect(runner.fleet).toBe('mcpcp-compose');
  });

  it('runs every server the fleet config names, on the port and Host name it is reached by', async () => {
    const config = await loadConfig(resolve(root, 'deploy/mcpcp.yaml'));
    for (const server of config.servers) {
      if (server.transport !== 'http') continue;
      const url = new URL(server.url);
      const command = services[url.hostname]?.command ?? [];
      expect(command[command.indexOf('--port') + 1], server.id).toBe(url.port);
      expect(command[command.indexOf('--allowed-hosts') + 1], server.id).toBe(url.hostname);
    }
  });
});

describe('deploy/mcpcp.yaml', () => {
  it('is a valid fleet config whose children are reached by Service name without sessions', async () => {
    const config = await loadConfig(resolve(root, 'deploy/mcpcp.yaml'));
    expect(config.proxy.listen.host).toBe('0.0.0.0');
    expect(config.proxy.replicas).toBe(2);
    for (const server of config.servers) {
      expect(server.transport).toBe('http');
      if (server.transport === 'http') {
        expect(server.protocol).toBe('auto');
        expect(server.start).toBeUndefined();
        expect(new URL(server.url).hostname).toBe(server.id);
      }
    }
  });

  it('shows an oauth section that, uncommented, keeps its grants on the postgres service with the compose password', () => {
    const text = read('deploy/mcpcp.yaml');
    const uncommented = text.replace(/^# (oauth:| {2}\w+:.*)$/gm, '$1');
    expect(uncommented).not.toBe(text);
    const config = parseConfig(uncommented, resolve(root, 'deploy/mcpcp.yaml'));
    expect(config.oauth?.store).toBe('postgres://mcpcp@postgres:5432/mcpcp?schema=mcpcp_oauth');
    const compose = parse(read('compose.yaml'), { merge: true }) as {
      services: { proxy: { environment: Record<string, string> } };
    };
    expect(compose.services.proxy.environment.PGPASSWORD).toContain('MCPCP_PG_PASSWORD');
  });
});

interface K8sProbe {
  httpGet: { path: string };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface K8sMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

interface K8sContainer {
  name: string;
  image: string;
  args: string[];
  env: unknown[];
  securityContext?: { privileged?: boolean; runAsNonRoot?: boolean };
  startupProbe?: K8sProbe;
  readinessProbe: K8sProbe;
  livenessProbe: K8sProbe;
  volumeMounts: K8sMount[];
}

interface K8sVolume {
  name: string;
  secret?: { secretName: string };
  configMap?: { name: string };
  emptyDir?: Record<string, unknown>;
  hostPath?: { path: string };
}

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data: Record<string, string>;
  spec: {
    replicas?: number;
    sessionAffinity?: string;
    ports?: Array<{ port: number }>;
    template: {
      spec: { containers: K8sContainer[]; volumes: K8sVolume[] };
    };
  };
}

const readK8s = (path: string): K8sDoc[] =>
  parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sDoc;
  });

/** The value after a flag in a command line. */
const flag = (args: readonly string[], name: string): string | undefined => args[args.indexOf(name) + 1];

/** The file the pod sees at `path` comes from this ConfigMap (mounted read-only at the file's folder). */
function configMapFileAt(pod: K8sDoc['spec']['template']['spec'], container: K8sContainer, path: string) {
  const mount = container.volumeMounts.find((m) => m.mountPath === dirname(path));
  expect(mount?.readOnly, path).toBe(true);
  return pod.volumes.find((v) => v.name === mount?.name)?.configMap?.name;
}

describe('deploy/k8s/mcpcp.yaml', () => {
  const docs = readK8s('deploy/k8s/mcpcp.yaml');
  const of = (kind: string) => docs.filter((doc) => doc.kind === kind);

  it('has Deployments with 2 proxy and 2 channels replicas, and a Service for each without session affinity', () => {
    const deployments = Object.fromEntries(of('Deployment').map((d) => [d.metadata.name, d]));
    expect(Object.keys(deployments).sort()).toEqual(['bot-runner', 'channels', 'code-runner', 'proxy']);
    expect(deployments.proxy?.spec.replicas).toBe(2);
    expect(deployments.channels?.spec.replicas).toBe(2);
    const services = of('Service');
    expect(services.map((s) => s.metadata.name).sort()).toEqual([
      'bot-runner',
      'channels',
      'code-runner',
      'proxy',
    ]);
    for (const service of services) expect(service.spec.sessionAffinity).toBeUndefined();
  });

  it('probes readiness on /readyz and liveness on /healthz, and reads keys from a Secret', () => {
    for (const deployment of of('Deployment')) {
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0]!;
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      const keys = pod.volumes.find((v) => v.name === 'keys');
      expect(keys?.secret?.secretName).toBe('mcpcp-keys');
      expect(container.volumeMounts).toContainEqual({ name: 'keys', mountPath: '/keys', readOnly: true });
      if (container.args[1] !== 'launcher/bin/mcpcp.js') checkServerCommand(container.args);
    }
  });

  it('gives the channels replicas DATABASE_URL from a Secret and carries a valid fleet config', async () => {
    const channels = of('Deployment').find((d) => d.metadata.name === 'channels')!;
    const env = channels.spec.template.spec.containers[0]!.env;
    expect(env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'mcpcp-database', key: 'DATABASE_URL' } },
    });
    const configMap = of('ConfigMap')[0]!;
    const config = await loadInTemp('mcpcp.yaml', configMap.data['mcpcp.yaml']!, loadConfig);
    expect(config.servers.map((s) => s.id)).toEqual(['channels', 'bot-runner', 'code-runner']);
    expect(config.proxy.replicas).toBe(2);
  });

  it('gives the code runner scratch space at its --data-dir and time to start', () => {
    const deployment = of('Deployment').find((d) => d.metadata.name === 'code-runner')!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]!;
    const dataDir = flag(container.args, '--data-dir');
    const mount = container.volumeMounts.find((m) => m.mountPath === dataDir);
    expect(mount, String(dataDir)).toBeDefined();
    expect(pod.volumes.find((v) => v.name === mount?.name)?.emptyDir).toEqual({});
    // compose.yaml allows 24 × 5 s; liveness must not kill the pod before that.
    const startup = container.startupProbe!;
    expect(startup.httpGet.path).toBe('/readyz');
    expect(startup.periodSeconds! * startup.failureThreshold!).toBeGreaterThanOrEqual(120);
  });
});

describe('deploy/k8s/docker-runner.yaml', () => {
  const text = read('deploy/k8s/docker-runner.yaml');
  const docs = readK8s('deploy/k8s/docker-runner.yaml');
  const of = (kind: string) => docs.filter((doc) => doc.kind === kind);
  const deployments = of('Deployment');
  const pod = deployments[0]!.spec.template.spec;
  const runner = pod.containers.find((c) => c.name === 'docker-runner')!;
  const engine = pod.containers.find((c) => c.name === 'engine')!;
  const runnerFile = flag(runner.args, '--runner-config')!;

  async function loadRunnerFile(): Promise<RunnerConfig> {
    const configMap = of('ConfigMap').find(
      (c) => c.metadata.name === configMapFileAt(pod, runner, runnerFile),
    );
    const file = runnerFile.slice(dirname(runnerFile).length + 1);
    return loadInTemp(file, configMap!.data[file]!, loadRunnerConfig);
  }

  it('runs one docker runner, beside a Docker engine sidecar, and a Service on its port', () => {
    // One runner per engine and fleet: at start it removes every container labelled with its fleet name.
    expect(deployments.map((d) => d.metadata.name)).toEqual(['docker-runner']);
    expect(deployments[0]!.spec.replicas).toBe(1);
    expect(pod.containers.map((c) => c.name).sort()).toEqual(['docker-runner', 'engine']);
    expect(engine.image).toMatch(/^docker:\d+-dind$/);
    expect(of('Service').map((s) => s.metadata.name)).toEqual(['docker-runner']);
    expect(of('Service')[0]!.spec.ports?.map((p) => p.port)).toEqual([Number(flag(runner.args, '--port'))]);
  });

  it('starts the runner unprivileged with flags it accepts, probes it, and mounts the keys and its file read-only', () => {
    checkServerCommand(runner.args);
    expect(runner.securityContext?.privileged).toBe(false);
    expect(runner.securityContext?.runAsNonRoot).toBe(true);
    expect(runner.readinessProbe.httpGet.path).toBe('/readyz');
    expect(runner.livenessProbe.httpGet.path).toBe('/healthz');
    expect(pod.volumes.find((v) => v.name === 'keys')?.secret?.secretName).toBe('mcpcp-keys');
    expect(runner.volumeMounts).toContainEqual({ name: 'keys', mountPath: '/keys', readOnly: true });
    expect(configMapFileAt(pod, runner, runnerFile)).toBe('mcpcp-docker-runner');
  });

  it('carries a valid runner file whose socket is on the volume the engine shares with the runner only', async () => {
    const config = await loadRunnerFile();
    expect(config.fleet).toBe('mcpcp-k8s');
    expect(Object.keys(config.images)).toEqual([]);
    const socketDir = dirname(config.socket);
    const mount = runner.volumeMounts.find((m) => m.mountPath === socketDir);
    expect(mount, socketDir).toBeDefined();
    expect(engine.volumeMounts).toContainEqual({ name: mount!.name, mountPath: socketDir });
    expect(pod.volumes.find((v) => v.name === mount!.name)?.emptyDir).toEqual({});
    // The engine listens on that socket only (no TCP), owned by the runner's group.
    expect(engine.args[0]).toBe('dockerd');
    expect(engine.args.filter((a) => a.startsWith('--host'))).toEqual([`--host=unix://${config.socket}`]);
    expect(engine.args).toContain('--group=1000');
  });

  it('mounts no host path and makes only the engine privileged', () => {
    for (const volume of pod.volumes) expect(volume.hostPath, volume.name).toBeUndefined();
    expect(pod.containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name)).toEqual([
      'engine',
    ]);
  });

  it("documents the server entry and rule of deploy/mcpcp.yaml, which make the main ConfigMap's config valid", async () => {
    // The header quotes them as YAML blocks (`#   - id: …` and the lines under it).
    const block = (id: string): unknown => {
      const lines = text.split('\n');
      const start = lines.indexOf(`#   - id: ${id}`);
      expect(start, id).toBeGreaterThan(-1);
      const end = lines.findIndex((line, i) => i > start && !line.startsWith('#     '));
      const quoted = lines.slice(start, end).map((line) => line.slice(1));
      return (parse(quoted.join('\n')) as unknown[])[0];
    };
    const fleet = parse(read('deploy/mcpcp.yaml')) as {
      servers: Array<{ id: string }>;
      policy: { rules: Array<{ id: string }> };
    };
    const entry = block('docker-runner');
    const rule = block('players-runners');
    expect(entry).toEqual(fleet.servers.find((s) => s.id === 'docker-runner'));
    expect(rule).toEqual(fleet.policy.rules.find((r) => r.id === 'players-runners'));
    expect(text).toContain('http://docker-runner:8084/mcp');

    const main = readK8s('deploy/k8s/mcpcp.yaml').find((d) => d.kind === 'ConfigMap')!;
    const edited = parse(main.data['mcpcp.yaml']!) as typeof fleet;
    edited.servers.push(entry as { id: string });
    edited.policy.rules = edited.policy.rules.map((r) =>
      r.id === 'players-runners' ? (rule as { id: string }) : r,
    );
    const config = await loadInTemp('mcpcp.yaml', stringify(edited), loadConfig);
    expect(config.servers.map((s) => s.id)).toEqual([
      'channels',
      'bot-runner',
      'code-runner',
      'docker-runner',
    ]);
  });
});
