import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { Histogram } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NUMERIC as DEMO_SINK_SETTINGS } from '../../tools/commands/demo-sink.js';
import { parseKafkaSource } from '../../src/config/kafkasource.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { OPTIONS, REQUIRED_SETTINGS } from '../../src/config/schema.js';
import type { Settings } from '../../src/config/settings.js';
import { DispatchMetrics } from '../../src/telemetry/metrics.js';
import { ROOT } from '../helpers/cli.js';
import {
  containerEnv,
  find,
  get,
  kustomize,
  promqlMatchers,
  promqlMetricNames,
  restrictedViolations,
  selects,
  validateObject,
  type K8sObject,
} from '../helpers/kubernetes.js';

// No cluster here: the package is rendered with `kubectl kustomize`, every object is validated against
// the schemas of Kubernetes, Knative, KEDA and the Prometheus Operator (kubernetes-models), and the
// dispatcher's part is checked against what the code reads.
const PACKAGE = join(ROOT, 'deploy', 'kubernetes');
const OVERLAYS = readdirSync(join(PACKAGE, 'overlays')).sort();
const ENV_NAMES = new Set(OPTIONS.flatMap((o) => o.env));
/** Options whose value is a path in the container's file system (`--kafka-tls-ca-file FILE`, `--secrets-dir DIR`). */
const PATH_OPTIONS = OPTIONS.filter((o) => o.metavar === 'FILE' || o.metavar === 'DIR');
/** What DispatchMetrics exports, histograms with their series suffixes. */
const EXPORTED_METRICS = new Set(
  new DispatchMetrics().registry
    .getMetricsAsArray()
    .flatMap((m) => (m instanceof Histogram ? ['_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name])),
);
const DISPATCHER = 'kafka-dispatch';
/** KEDA's `sasl` values for the dispatcher's KAFKA_SASL_MECHANISM. */
const KEDA_SASL: Record<string, string> = { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' };

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kd-kustomize-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The rendered dispatcher and what the configuration loader makes of its environment. */
function dispatcherOf(objects: K8sObject[]) {
  const deployment = get(objects, 'Deployment', DISPATCHER);
  const namespace = deployment.metadata.namespace as string;
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: K8sObject) => c.name === 'dispatcher') as K8sObject;
  const env = containerEnv(objects, container, namespace);
  return { deployment, namespace, pod, container, env, podLabels: deployment.spec.template.metadata.labels as Record<string, string> };
}

/** K_SINK as the SinkBinding injects it: the referenced object's address, `uri` resolved against it. */
function sinkUrl(objects: K8sObject[], binding: K8sObject): string {
  const { ref, uri } = binding.spec.sink;
  const target = objects.find((o) => o.apiVersion === ref.apiVersion && o.kind === ref.kind && o.metadata.name === ref.name);
  if (!target) throw new Error(`SinkBinding's sink ${ref.kind} ${ref.name} is not in the rendered manifests`);
  const namespace = ref.namespace ?? binding.metadata.namespace;
  expect(target.metadata.namespace, 'the sink is in the namespace the SinkBinding resolves it in').toBe(namespace);
  return new URL(uri ?? '', `http://${ref.name}.${namespace}.svc.cluster.local/`).href;
}

/**
 * The dispatcher's settings as the configuration loader resolves them from the rendered environment,
 * with K_SINK from the SinkBinding and each mounted file replaced by a stand-in (the loader reads them).
 */
function resolveDispatcher(objects: K8sObject[]): Settings {
  const { env } = dispatcherOf(objects);
  const binding = get(objects, 'SinkBinding');
  const values: Record<string, string> = { ...env.values, K_SINK: sinkUrl(objects, binding) };
  for (const option of PATH_OPTIONS) {
    for (const name of option.env) {
      if (values[name] === undefined || option.metavar !== 'FILE') continue;
      const standIn = join(scratch, name);
      writeFileSync(standIn, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      values[name] = standIn;
    }
  }
  return resolveConfig({ env: values }).settings;
}

/** The effective value of a KEDA trigger parameter: literal, or `<name>FromEnv` read from the target container. */
function triggerParam(metadata: Record<string, string>, name: string, env: Record<string, string>): string | undefined {
  const fromEnv = metadata[`${name}FromEnv`];
  if (fromEnv !== undefined) return env[fromEnv];
  return metadata[name];
}

const splitList = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim());

function portAllowed(rules: K8sObject[], port: number | string, protocol = 'TCP'): boolean {
  return rules.some((rule) => (rule.ports ?? []).some((p: K8sObject) => p.port === port && (p.protocol ?? 'TCP') === protocol));
}

describe('deploy/kubernetes/base', () => {
  const objects = kustomize(join(PACKAGE, 'base'));

  it('validates against the Kubernetes, Knative and KEDA schemas and sets no namespace (the overlay or the user does)', async () => {
    for (const object of objects) await validateObject(object);
    const namespaced = objects.filter((o) => o.metadata?.namespace !== undefined).map((o) => `${o.kind} ${o.metadata.name}`);
    expect(namespaced).toEqual([]);
  });
});

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s', (overlay) => {
  const objects = kustomize(join(PACKAGE, 'overlays', overlay));
  const { deployment, namespace, pod, container, env, podLabels } = dispatcherOf(objects);

  it('renders objects that all validate against the real schemas, in one namespace', async () => {
    for (const object of objects) await validateObject(object);
    expect(namespace, 'the overlay sets a namespace').toEqual(expect.any(String));
    for (const object of objects) expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(namespace);
    // The KafkaSource example is for migration: applied, its controller would start a second consumer in the group.
    expect(find(objects, 'KafkaSource')).toBeUndefined();
  });

  it('gives the dispatcher only environment variables the configuration loader reads, and every required setting', () => {
    expect(env.problems).toEqual([]);
    for (const name of Object.keys(env.values)) expect(ENV_NAMES, `env ${name} is no setting of src/config/schema.ts`).toContain(name);
    // The sink comes from the SinkBinding, not from a hard-coded variable it would fight with.
    expect(env.values.K_SINK).toBeUndefined();
    expect(env.values.SINK_URI).toBeUndefined();
    const settings = resolveDispatcher(objects); // throws on a missing required setting or a bad value
    for (const key of REQUIRED_SETTINGS) expect(settings[key], key).toBeDefined();
    expect(settings.ordering, 'ordered caps the sink at one request per partition').toBe('key');
    expect(settings.concurrencyLimit).toBe('demand');
    expect(settings.metricsPort).toBe(container.ports.find((p: K8sObject) => p.name === 'metrics').containerPort);
    // The pod is killed terminationGracePeriodSeconds after SIGTERM: the dispatcher's stop fits, with 5 s to spare.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(settings.shutdownGraceMs + 5000);
  });

  it('mounts every file an environment variable points at', () => {
    const mounts = (container.volumeMounts ?? []) as K8sObject[];
    for (const option of PATH_OPTIONS) {
      for (const name of option.env) {
        const path = env.values[name];
        if (path === undefined) continue;
        const mount = mounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
        expect(mount, `${name}=${path} is under no volumeMount`).toBeDefined();
        const volume = (pod.volumes ?? []).find((v: K8sObject) => v.name === mount!.name);
        expect(volume, `volume ${mount!.name}`).toBeDefined();
        const items = (volume.secret ?? volume.configMap)?.items as K8sObject[] | undefined;
        const file = posix.relative(mount!.mountPath, path);
        if (option.metavar === 'FILE' && items)
          expect(
            items.map((i) => i.path),
            `${name}: ${file} in volume ${volume.name}`,
          ).toContain(file);
      }
    }
  });

  it('binds the dispatcher to the sink with a SinkBinding', () => {
    const binding = get(objects, 'SinkBinding');
    const { subject } = binding.spec;
    expect(subject).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(subject.name ?? '', 'subject by name').toBe(deployment.metadata.name);
    expect(new URL(sinkUrl(objects, binding)).pathname).toBe('/predict');
  });

  it('runs the dispatcher as Pod Security "restricted" with its own account, no API token and no replica count', () => {
    expect(deployment.spec.replicas, 'KEDA owns the replica count; a re-apply must not reset it').toBeUndefined();
    expect(restrictedViolations(pod)).toEqual([]);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    const account = get(objects, 'ServiceAccount', pod.serviceAccountName);
    expect(account.automountServiceAccountToken).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('probes startup, liveness and readiness, requests resources including ephemeral storage, and spreads its pods', () => {
    expect(container.startupProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(Object.keys(container.resources.requests).sort()).toEqual(['cpu', 'ephemeral-storage', 'memory']);
    expect(Object.keys(container.resources.limits).sort()).toEqual(['ephemeral-storage', 'memory']);
    const spread = (pod.topologySpreadConstraints ?? []) as K8sObject[];
    expect(spread.map((s) => s.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const s of spread) expect(selects(s.labelSelector, podLabels), `spread on ${s.topologyKey}`).toBe(true);
    const budget = get(objects, 'PodDisruptionBudget');
    expect(selects(budget.spec.selector, podLabels)).toBe(true);
    expect(budget.spec.maxUnavailable, 'maxUnavailable, so one replica never blocks a drain').toBe(1);
  });

  it('exposes the metrics port through a Service and lets only DNS, Kafka and the sink out', () => {
    const settings = resolveDispatcher(objects);
    const service = objects.find((o) => o.kind === 'Service' && o.apiVersion === 'v1') as K8sObject;
    expect(selects({ matchLabels: service.spec.selector }, podLabels)).toBe(true);
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ port: settings.metricsPort, targetPort: 'metrics' }));
    const policy = get(objects, 'NetworkPolicy');
    expect(selects(policy.spec.podSelector, podLabels)).toBe(true);
    expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(portAllowed(policy.spec.ingress, 'metrics') || portAllowed(policy.spec.ingress, settings.metricsPort)).toBe(true);
    const egress = policy.spec.egress as K8sObject[];
    expect(portAllowed(egress, 53, 'UDP') && portAllowed(egress, 53, 'TCP'), 'DNS').toBe(true);
    for (const broker of settings.brokers) expect(portAllowed(egress, Number(broker.split(':').pop())), `broker ${broker}`).toBe(true);
    const sink = new URL(settings.sinkUri);
    expect(portAllowed(egress, Number(sink.port || (sink.protocol === 'https:' ? 443 : 80))), `sink ${sink.href}`).toBe(true);
  });

  it('scales the dispatcher with KEDA on the lag of the group, topic and brokers it consumes', () => {
    const settings = resolveDispatcher(objects);
    const scaled = get(objects, 'ScaledObject');
    expect(scaled.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    const kafka = scaled.spec.triggers.find((t: K8sObject) => t.type === 'kafka');
    const m = kafka.metadata as Record<string, string>;
    expect(splitList(triggerParam(m, 'bootstrapServers', env.values))).toEqual(settings.brokers);
    expect(triggerParam(m, 'consumerGroup', env.values)).toBe(settings.groupId);
    expect(splitList(triggerParam(m, 'topic', env.values))).toEqual(settings.topics);
    // KEDA's rule for a partition the group never committed must be the dispatcher's.
    expect(m.offsetResetPolicy ?? 'latest').toBe(settings.initialOffset);
    expect(Number(m.lagThreshold)).toBeGreaterThan(0);
    // Connects as the dispatcher does: SASL with the same credentials, TLS with the same CA.
    if (settings.saslMechanism === undefined) expect(m.sasl).toBeUndefined();
    else {
      expect(m.sasl).toBe(KEDA_SASL[settings.saslMechanism]);
      const auth = get(objects, 'TriggerAuthentication', kafka.authenticationRef?.name);
      const param = (p: string) => auth.spec.secretTargetRef.find((r: K8sObject) => r.parameter === p);
      expect(param('username')).toMatchObject(env.secretRefs.KAFKA_SASL_USERNAME!);
      expect(param('password')).toMatchObject(env.secretRefs.KAFKA_SASL_PASSWORD!);
      if (settings.tlsCaCert !== undefined) {
        const caPath = env.values.KAFKA_TLS_CA_FILE!;
        const mount = container.volumeMounts.find((v: K8sObject) => caPath.startsWith(`${v.mountPath}/`));
        const secret = pod.volumes.find((v: K8sObject) => v.name === mount.name).secret;
        const item = secret.items.find((i: K8sObject) => i.path === posix.relative(mount.mountPath, caPath));
        expect(param('ca'), 'KEDA trusts the CA the dispatcher trusts').toMatchObject({ name: secret.secretName, key: item.key });
      }
    }
    expect(m.tls === 'enable').toBe(settings.tlsEnabled);
  });

  it("scales on saturation with a Prometheus query of metrics the dispatcher exports, as a Value, in the overlay's namespace", () => {
    const scaled = get(objects, 'ScaledObject');
    const prometheus = scaled.spec.triggers.find((t: K8sObject) => t.type === 'prometheus');
    // AverageValue would divide the ratio (at most 1) by the replica count: never more than 2 replicas.
    expect(prometheus.metricType).toBe('Value');
    const { query, threshold, serverAddress } = prometheus.metadata;
    const metrics = promqlMetricNames(query);
    expect(metrics.length).toBeGreaterThan(0);
    for (const name of metrics) expect(EXPORTED_METRICS, `${name} in the KEDA query`).toContain(name);
    expect(promqlMatchers(query, 'namespace')).toEqual([namespace, namespace]);
    expect(Number(threshold)).toBeGreaterThan(0);
    expect(Number(threshold)).toBeLessThan(1);
    expect(new URL(serverAddress).protocol).toBe('http:');
    const monitor = find(objects, 'PodMonitor') ?? find(objects, 'ServiceMonitor');
    if (overlay === 'prometheus-operator') {
      // The operator ignores prometheus.io/* annotations: without a monitor the query returns nothing.
      expect(monitor?.kind).toBe('PodMonitor');
      expect(selects(monitor!.spec.selector, podLabels)).toBe(true);
      const ports = container.ports.map((p: K8sObject) => p.name);
      for (const endpoint of monitor!.spec.podMetricsEndpoints) expect(ports).toContain(endpoint.port);
      expect(serverAddress).toContain('prometheus-operated');
    } else {
      expect(monitor).toBeUndefined();
      expect(deployment.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(container.ports.find((p: K8sObject) => p.name === 'metrics').containerPort),
      });
    }
  });

  it('runs the sink as a Knative Service with containerConcurrency 2 and the min-scale/max-scale keys', () => {
    const ksvc = objects.find((o) => o.kind === 'Service' && o.apiVersion === 'serving.knative.dev/v1') as K8sObject;
    const annotations = ksvc.spec.template.metadata.annotations as Record<string, string>;
    expect(Object.keys(annotations)).toEqual(
      expect.arrayContaining(['autoscaling.knative.dev/min-scale', 'autoscaling.knative.dev/max-scale']),
    );
    expect(
      Object.keys(annotations).filter((k) => /minScale|maxScale/.test(k)),
      'legacy keys',
    ).toEqual([]);
    const spec = ksvc.spec.template.spec;
    expect(spec.containerConcurrency).toBe(2);
    const sink = spec.containers[0];
    if (overlay === 'ask-gpu') {
      // The article's variant: its GPU image on an ECI GPU instance. Its user is not known: baseline only.
      expect(annotations['k8s.aliyun.com/eci-use-specs']).toBe('ecs.gn6i-c4g1.xlarge');
      expect(sink.resources.limits['nvidia.com/gpu']).toBe('1');
      expect(restrictedViolations(spec, true)).toEqual([]);
    } else {
      expect(annotations['k8s.aliyun.com/eci-use-specs']).toBeUndefined();
      expect(JSON.stringify(sink.resources)).not.toContain('nvidia.com/gpu');
      expect(sink.command).toEqual(['node', 'build/tools/cli.js', 'demo-sink']);
      const demoEnv = new Set(DEMO_SINK_SETTINGS.map((s) => s.env));
      for (const e of sink.env ?? []) expect(demoEnv, `demo sink env ${e.name}`).toContain(e.name);
      expect(restrictedViolations(spec)).toEqual([]);
    }
  });
});

describe('deploy/examples/kafkasource.yaml', () => {
  const file = join(ROOT, 'deploy', 'examples', 'kafkasource.yaml');
  const text = readFileSync(file, 'utf8');
  const manifest = parse(text) as K8sObject;

  it('is the article KafkaSource as current clusters serve it, with lists, and reads as the dispatcher configuration', () => {
    expect(manifest.apiVersion).toBe('sources.knative.dev/v1beta1');
    expect(manifest.spec.bootstrapServers).toEqual(expect.any(Array));
    expect(manifest.spec.topics).toEqual(expect.any(Array));
    const layer = parseKafkaSource(text, relative(ROOT, file));
    expect(layer.issues).toEqual([]);
    expect(layer.values).toMatchObject({ groupId: 'ai-info-consumer', topics: ['ai-info'], retry: 5, backoffDelayMs: 2000 });
  });

  it('is in no kustomization: it is an example for migration', () => {
    const kustomizations = readdirSync(PACKAGE, { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('kustomization.yaml'));
    expect(kustomizations.length).toBeGreaterThan(0);
    for (const k of kustomizations) expect(readFileSync(join(PACKAGE, k), 'utf8'), k).not.toContain('examples');
  });
});
