// The scale-out examples cannot run here (no registry for images), so their structure is checked instead: compose.yaml
// and deploy/k8s/mcpcp.yaml parse, name the services the README promises, run scripts that exist with flags the
// servers accept, probe /readyz and /healthz, take keys from a read-only mount (k8s: a Secret), and the fleet config
// they mount is a valid MCPCP config whose children are sessionless (protocol auto) so any replica can answer.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadRunnerConfig } from '../../../config/docker-runner.ts';
import { loadConfig } from '../../../config/load.ts';

const root = resolve(import.meta.dirname, '../../..');
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8');

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
});

interface K8sContainer {
  args: string[];
  env: unknown[];
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
  volumeMounts: unknown[];
}

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data: Record<string, string>;
  spec: {
    replicas?: number;
    sessionAffinity?: string;
    template: {
      spec: { containers: K8sContainer[]; volumes: Array<{ name: string; secret?: { secretName: string } }> };
    };
  };
}

describe('deploy/k8s/mcpcp.yaml', () => {
  const docs = parseAllDocuments(read('deploy/k8s/mcpcp.yaml')).map((doc) => doc.toJS() as K8sDoc);
  const of = (kind: string) => docs.filter((doc) => doc.kind === kind);

  it('has Deployments with 2 proxy and 2 channels replicas, and a Service for each without session affinity', () => {
    const deployments = Object.fromEntries(of('Deployment').map((d) => [d.metadata.name, d]));
    expect(Object.keys(deployments).sort()).toEqual(['bot-runner', 'channels', 'proxy']);
    expect(deployments.proxy?.spec.replicas).toBe(2);
    expect(deployments.channels?.spec.replicas).toBe(2);
    const services = of('Service');
    expect(services.map((s) => s.metadata.name).sort()).toEqual(['bot-runner', 'channels', 'proxy']);
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
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(resolve(tmpdir(), 'mcpcp-k8s-'));
    try {
      await writeFile(resolve(dir, 'mcpcp.yaml'), configMap.data['mcpcp.yaml']!);
      const config = await loadConfig(resolve(dir, 'mcpcp.yaml'));
      expect(config.servers.map((s) => s.id)).toEqual(['channels', 'bot-runner']);
      expect(config.proxy.replicas).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
