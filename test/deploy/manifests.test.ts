// The deploy/ files against the real code: every YAML parses, every `plexus` command line in
// the Dockerfile, compose file, Kubernetes manifests and systemd unit is accepted by the CLI's
// own parser and compiles (with the config file it mounts) through the real option compiler,
// and the ports, names and paths the files share agree with each other.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNodeStartArgs } from '../../src/cli/node-start.ts';
import { formatHostPort } from '../../src/wire/address.ts';
import { compileNodeOptions, DEFAULT_P2P_PORT, type NodeOptions } from '../../src/node/options.ts';
import { exposureProblems } from '../../src/node/auth/exposure.ts';
import {
  arr, DEPLOY, dockerInstructions, execForm, expandExecStart, obj, plexusArgsFromShell, readEnvFile,
  readYaml, readYamlDocs, REPO, str,
} from './manifests.ts';

const run = promisify(execFile);
const NODE = path.join(REPO, 'node_modules/.bin/node');
const MAIN = path.join(REPO, 'src/cli/main.ts');
const scratch = mkdtempSync(path.join(tmpdir(), 'plexus-deploy-'));
afterAll(() => { rmSync(scratch, { recursive: true, force: true }); });

/**
 * `plexus node start ARGS` as the CLI would compile it. `mounts` maps the paths the command
 * sees (in the container or on the host) to files here; a --config that no mount provides fails.
 */
function compileStart(argv: readonly string[], mounts: Readonly<Record<string, string>>): NodeOptions {
  expect(argv.slice(0, 2)).toEqual(['node', 'start']);
  const { flags, help } = parseNodeStartArgs(argv.slice(2));
  expect(help).toBe(false);
  let config = flags.config;
  if (config !== undefined) {
    const local = mounts[config];
    if (local === undefined) throw new Error(`--config ${config} is not provided by any mount (${Object.keys(mounts).join(', ') || 'none'})`);
    config = local;
  }
  return compileNodeOptions({ ...flags, ...(config !== undefined ? { config } : {}) }, { cwd: scratch, home: scratch });
}

/** Runs the real CLI with the arguments plus --help: parseArgs rejects unknown flags first. */
async function expectCliAccepts(argv: readonly string[]): Promise<void> {
  const { stdout } = await run(NODE, [MAIN, ...argv, '--help'], { timeout: 20_000 });
  expect(stdout).toMatch(/^Usage: plexus /);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));
}

describe('deploy/ YAML', () => {
  it('every YAML file parses without errors or warnings', () => {
    const files = yamlFiles(DEPLOY);
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) expect(readYamlDocs(f).length, f).toBeGreaterThan(0);
  });

  it('every plexus model config compiles with the real compiler', () => {
    const configs = ['compose/plexus.yaml', 'k8s/gpu/plexus.yaml', 'systemd/plexus.yaml'].map((f) => path.join(DEPLOY, f));
    for (const c of configs) {
      const options = compileNodeOptions({ config: c }, { cwd: scratch, home: scratch });
      expect(options.models.map((m) => m.name), c).toContain('silero-vad-segments');
    }
  });
});

describe('Dockerfile', () => {
  const file = path.join(DEPLOY, 'docker/Dockerfile');
  const instructions = dockerInstructions(file);
  const last = (keyword: string): string => {
    const found = instructions.filter((i) => i.keyword === keyword).at(-1);
    if (!found) throw new Error(`Dockerfile has no ${keyword}`);
    return found.rest;
  };

  it('CMD is a node start the CLI accepts, on the exposed gRPC port the HEALTHCHECK asks', async () => {
    expect(execForm(last('ENTRYPOINT'))).toEqual(['plexus']);
    const cmd = execForm(last('CMD'));
    const options = compileStart(cmd, {});
    const exposed = last('EXPOSE').split(/\s+/).map(Number);
    expect(exposed).toContain(options.grpc.address.port);
    expect(exposed).toContain(DEFAULT_P2P_PORT);
    expect(options.p2p?.listen).toEqual([`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`]);
    expect(options.dataDir).toBe('/data');

    const health = execForm(last('HEALTHCHECK'));
    expect(health.slice(0, 2)).toEqual(['plexus', 'health']);
    const target = health[health.indexOf('--target') + 1];
    expect(target).toBe(`127.0.0.1:${options.grpc.address.port}`);
    await expectCliAccepts(health.slice(1));
  });

  it('the default CMD is exposed but protected: swarm key and tokens from /run/secrets', () => {
    const options = compileStart(execForm(last('CMD')), {});
    expect(options.p2p?.members?.swarmKeyFile).toBe('/run/secrets/swarm.key');
    expect(options.security?.tokensFile).toBe('/run/secrets/tokens.yaml');
    expect(exposureProblems(options)).toEqual([]);
    // Without them the same command would be refused at start, naming both listeners.
    const bare = compileNodeOptions({ grpc: '0.0.0.0:8001', listen: ['/ip4/0.0.0.0/tcp/4001'] }, { cwd: scratch, home: scratch });
    expect(exposureProblems(bare)).toHaveLength(2);
  });

  it('the runtime stage carries the Vulkan loader and EGL, which the NVIDIA Vulkan driver needs, for provider webgpu', () => {
    const runtime = instructions.slice(instructions.findLastIndex((i) => i.keyword === 'FROM'));
    const install = runtime.find((i) => i.keyword === 'RUN' && /\bapt-get install\b/.test(i.rest))?.rest ?? '';
    for (const pkg of ['libvulkan1', 'libegl1']) expect(install.split(/\s+/), pkg).toContain(pkg);
  });

  it('copies every path package.json packs, and the install script it runs', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { files?: string[] };
    const copied = instructions.filter((i) => i.keyword === 'COPY' && !i.rest.startsWith('--from'))
      .flatMap((i) => i.rest.split(/\s+/).slice(0, -1).map((p) => p.replace(/\/$/, '')));
    expect(pkg.files?.length).toBeGreaterThan(0);
    // dist/ is not copied from the host (it may be stale there): the build stage compiles it.
    const builds = instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.rest)
      && instructions.indexOf(i) < instructions.findIndex((j) => j.keyword === 'RUN' && j.rest.includes('build-app.sh')));
    expect(builds).toBe(true);
    for (const f of pkg.files ?? []) if (f !== 'dist/') expect(copied, f).toContain(f.replace(/\/$/, ''));
    for (const f of ['tsconfig.json', 'tsconfig.build.json']) expect(copied).toContain(f);
    for (const f of ['package.json', 'package-lock.json', '.npmrc', 'deploy/docker/build-app.sh']) expect(copied).toContain(f);
    for (const f of copied) expect(existsSync(path.join(REPO, f)), f).toBe(true);
    expect(instructions.some((i) => i.keyword === 'USER' && i.rest !== 'root' && i.rest !== '0')).toBe(true);
    expect(last('VOLUME')).toMatch(/\/models.*\/data/);
  });
});

describe('docker compose', () => {
  const dir = path.join(DEPLOY, 'compose');
  const compose = obj(readYaml(path.join(dir, 'docker-compose.yml')), 'compose');
  const services = obj(compose.services, 'services');

  it('three nodes: plexus-0 seeds, the others bootstrap through service names that exist', () => {
    expect(Object.keys(services)).toEqual(['plexus-0', 'plexus-1', 'plexus-2']);
    const hostPorts = new Set<string>();
    for (const [name, raw] of Object.entries(services)) {
      const service = obj(raw, name);
      const mounts: Record<string, string> = {};
      for (const v of arr(service.volumes, `${name}.volumes`)) {
        const [from = '', to = ''] = str(v, `${name}.volumes`).split(':');
        if (from.startsWith('.')) mounts[to] = path.resolve(dir, from);
      }
      const argv = arr(service.command, `${name}.command`).map((a) => str(a, `${name}.command`));
      const options = compileStart(argv, mounts);
      expect(options.models.length, name).toBeGreaterThan(0);
      const bootstrap = options.p2p?.bootstrap ?? [];
      if (name === 'plexus-0') {
        expect(bootstrap).toEqual([]);
      } else {
        expect(bootstrap).toEqual([`/dns4/plexus-0/tcp/${DEFAULT_P2P_PORT}`]);
      }
      // The published port must land on the port the node really listens on.
      const ports = arr(service.ports, `${name}.ports`).map((p) => str(p, `${name}.ports`));
      expect(ports).toHaveLength(1);
      const [hostIp, hostPort, containerPort] = (ports[0] ?? '').split(':');
      expect(hostIp).toBe('127.0.0.1');
      expect(Number(containerPort)).toBe(options.grpc.address.port);
      expect(formatHostPort(options.grpc.address)).toBe(`0.0.0.0:${containerPort}`);
      hostPorts.add(hostPort ?? '');
    }
    expect(hostPorts.size).toBe(3);
  });

  it('every node gets the swarm key and tokens as compose secrets, and is not refused at start', () => {
    const secrets = obj(compose.secrets, 'secrets');
    for (const [name, raw] of Object.entries(services)) {
      const service = obj(raw, name);
      const mounted = arr(service.secrets, `${name}.secrets`).map((s) => str(s, `${name}.secrets`));
      const argv = arr(service.command, `${name}.command`).map((a) => str(a, `${name}.command`));
      const { flags } = parseNodeStartArgs(argv.slice(2));
      for (const [flag, file] of [['--swarm-key', flags.swarmKey], ['--tokens', flags.tokens]] as const) {
        const m = /^\/run\/secrets\/(.+)$/.exec(file ?? '');
        expect(m, `${name} ${flag}`).not.toBeNull();
        expect(mounted).toContain(m?.[1]);
        expect(str(obj(secrets[m?.[1] ?? ''], 'secret').file, 'secret.file')).toMatch(/^\.\/secrets\//);
      }
      const options = compileStart(argv, { '/models/plexus.yaml': path.join(dir, 'plexus.yaml') });
      expect(exposureProblems(options), name).toEqual([]);
    }
  });
});

interface K8sDoc { kind: string; metadata: { name: string }; spec?: unknown; data?: Record<string, string> }

describe('Kubernetes', () => {
  const base = path.join(DEPLOY, 'k8s/base');
  const docs = ['configmap.yaml', 'service.yaml', 'statefulset.yaml']
    .flatMap((f) => readYamlDocs(path.join(base, f))) as K8sDoc[];
  const find = (kind: string, name: string): K8sDoc => {
    const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!d) throw new Error(`no ${kind} ${name}`);
    return d;
  };
  const sts = find('StatefulSet', 'plexus');
  const stsSpec = obj(sts.spec, 'spec');
  const podSpec = obj(obj(stsSpec.template, 'template').spec, 'template.spec');
  const container = obj(arr(podSpec.containers, 'containers')[0], 'containers[0]');
  const script = arr(container.args, 'args').map((a) => str(a, 'args')).join('\n');

  /** What the pod's shell would run, with the ConfigMap mounted at its mountPath. */
  function podStart(hostname: string, configFile: string): NodeOptions {
    expect(container.command).toEqual(['/bin/sh', '-c']);
    const argv = plexusArgsFromShell(script, { HOSTNAME: hostname, POD_NAMESPACE: 'prod' });
    const mount = arr(container.volumeMounts, 'volumeMounts').map((m) => obj(m, 'volumeMount')).find((m) => m.name === 'config');
    const volume = arr(podSpec.volumes, 'volumes').map((v) => obj(v, 'volume')).find((v) => v.name === 'config');
    expect(obj(volume?.configMap, 'configMap').name).toBe('plexus-config');
    return compileStart(argv, { [`${str(mount?.mountPath, 'mountPath')}/plexus.yaml`]: configFile });
  }

  function configMapFile(): string {
    const cm = find('ConfigMap', 'plexus-config');
    const file = path.join(scratch, 'k8s-base-plexus.yaml');
    writeFileSync(file, cm.data?.['plexus.yaml'] ?? '');
    return file;
  }

  it('pod 0 seeds; pod 2 bootstraps through pod 0 on the headless service, at the p2p port', () => {
    const config = configMapFile();
    const pod0 = podStart('plexus-0', config);
    expect(pod0.p2p?.bootstrap).toEqual([]);
    const pod2 = podStart('plexus-2', config);
    const service = find('Service', str(stsSpec.serviceName, 'serviceName'));
    const serviceSpec = obj(service.spec, 'service.spec');
    expect(serviceSpec.clusterIP).toBe('None');
    expect(serviceSpec.publishNotReadyAddresses).toBe(true);
    expect(pod2.p2p?.bootstrap).toEqual([`/dns4/${sts.metadata.name}-0.${service.metadata.name}.prod.svc.cluster.local/tcp/${DEFAULT_P2P_PORT}`]);
    const servicePorts = arr(serviceSpec.ports, 'ports').map((p) => obj(p, 'port'));
    expect(servicePorts.find((p) => p.name === 'p2p')?.port).toBe(DEFAULT_P2P_PORT);
    expect(pod2.p2p?.listen).toEqual([`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`]);
    expect(pod2.models.map((m) => m.name)).toEqual(['silero-vad', 'silero-vad-segments']);
  });

  it('probes are gRPC health checks on the port the node serves gRPC on', () => {
    const options = podStart('plexus-1', configMapFile());
    const ports = arr(container.ports, 'ports').map((p) => obj(p, 'port'));
    expect(ports.find((p) => p.name === 'grpc')?.containerPort).toBe(options.grpc.address.port);
    expect(options.grpc.address.host).toBe('0.0.0.0');
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(obj(obj(container[probe], probe).grpc, `${probe}.grpc`).port, probe).toBe(options.grpc.address.port);
    }
    // Drain must finish before the kubelet's SIGKILL.
    expect(Number(podSpec.terminationGracePeriodSeconds) * 1000).toBeGreaterThan(options.shutdownGraceMs);
  });

  it('pods read the swarm key and tokens from the plexus-secrets Secret and are not refused at start', () => {
    const options = podStart('plexus-2', configMapFile());
    const mount = arr(container.volumeMounts, 'volumeMounts').map((m) => obj(m, 'volumeMount')).find((m) => m.name === 'secrets');
    const volume = arr(podSpec.volumes, 'volumes').map((v) => obj(v, 'volume')).find((v) => v.name === 'secrets');
    expect(obj(volume?.secret, 'secret').secretName).toBe('plexus-secrets');
    const at = str(mount?.mountPath, 'mountPath');
    expect(options.p2p?.members?.swarmKeyFile).toBe(`${at}/swarm.key`);
    expect(options.security?.tokensFile).toBe(`${at}/tokens.yaml`);
    expect(exposureProblems(options)).toEqual([]);
  });

  it('the GPU variant requests a GPU with Vulkan (graphics) and its config compiles with detection on WebGPU', () => {
    const gpu = path.join(DEPLOY, 'k8s/gpu');
    const kustomization = obj(readYaml(path.join(gpu, 'kustomization.yaml')), 'kustomization');
    expect(kustomization.resources).toEqual(['../base']);
    const generator = obj(arr(kustomization.configMapGenerator, 'configMapGenerator')[0], 'generator');
    expect(generator).toMatchObject({ name: 'plexus-config', behavior: 'replace', files: ['plexus.yaml'] });
    const options = podStart('plexus-1', path.join(gpu, 'plexus.yaml'));
    const raw = options.models.filter((m) => m.kind === 'onnx');
    expect(Object.fromEntries(raw.map((m) => [m.name, m.provider]))).toEqual({ 'silero-vad': 'cpu', 'ppocr-det': 'webgpu', 'ppocr-rec': 'cpu' });
    expect(options.models.map((m) => m.name)).toEqual(expect.arrayContaining(['silero-vad-segments', 'ocr-detect', 'ocr-recognize']));

    const patchFile = str(obj(arr(kustomization.patches, 'patches')[0], 'patch').path, 'patch.path');
    const patch = obj(readYaml(path.join(gpu, patchFile)), 'patch');
    expect(patch).toMatchObject({ kind: 'StatefulSet', metadata: { name: sts.metadata.name } });
    const patchPod = obj(obj(obj(patch.spec, 'spec').template, 'template').spec, 'spec');
    const patched = obj(arr(patchPod.containers, 'containers')[0], 'container');
    expect(patched.name).toBe(container.name);
    expect(obj(obj(patched.resources, 'resources').limits, 'limits')['nvidia.com/gpu']).toBe(1);
    const env = arr(patched.env, 'env').map((e) => obj(e, 'env'));
    expect(str(env.find((e) => e.name === 'NVIDIA_DRIVER_CAPABILITIES')?.value, 'NVIDIA_DRIVER_CAPABILITIES').split(',')).toContain('graphics');
    expect(patched.image).toBeUndefined(); // the standard image: it carries the Vulkan loader
  });
});

describe('systemd', () => {
  const dir = path.join(DEPLOY, 'systemd');
  const unit = readFileSync(path.join(dir, 'plexus.service'), 'utf8');
  const directive = (key: string): string => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(unit);
    if (!m) throw new Error(`plexus.service has no ${key}=`);
    return m[1] ?? '';
  };

  it('ExecStart, expanded with the example env file, is a node start the CLI compiles', () => {
    expect(directive('EnvironmentFile')).toBe('/etc/plexus/plexus.env');
    const env = readEnvFile(path.join(dir, 'plexus.env'));
    const [exe, ...argv] = expandExecStart(directive('ExecStart'), env);
    expect(exe).toBe('/opt/plexus/bin/plexus');
    const options = compileStart(argv, { '/etc/plexus/plexus.yaml': path.join(dir, 'plexus.yaml') });
    expect(options.dataDir).toBe(`/var/lib/${directive('StateDirectory')}`);
    expect(formatHostPort(options.grpc.address)).toBe('0.0.0.0:8001');
    expect(options.logLevel).toBe('info');
    // What the env file suggests for joining a cluster must be accepted too.
    const suggested = /^#\s+(--bootstrap .*)$/m.exec(readFileSync(path.join(dir, 'plexus.env'), 'utf8'))?.[1];
    expect(suggested).toBeDefined();
    const joined = compileStart(expandExecStart(directive('ExecStart'), { ...env, PLEXUS_EXTRA_ARGS: suggested ?? '' }).slice(1),
      { '/etc/plexus/plexus.yaml': path.join(dir, 'plexus.yaml') });
    expect(joined.p2p?.bootstrap).toHaveLength(1);
    expect(options.p2p?.members?.swarmKeyFile).toBe('/etc/plexus/swarm.key');
    expect(exposureProblems(options)).toEqual([]);
    expect(Number(directive('TimeoutStopSec')) * 1000).toBeGreaterThan(options.shutdownGraceMs);
  });
});
