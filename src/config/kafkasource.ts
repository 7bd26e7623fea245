import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { parseIsoDuration, parseSeconds } from './duration.js';
import { OPTIONS, optionFor, ceOverrides, type OptionSpec } from './options.js';
import { emptyLayer, setValue, type ConfigLayer } from './layer.js';

/**
 * Reads a Knative KafkaSource manifest (sources.knative.dev v1, v1beta1, v1alpha1), including
 * Alibaba Cloud ASK's `k8s.aliyun.com/*` annotations, into a configuration layer.
 */

export const ASK = {
  domain: 'k8s.aliyun.com/domain',
  reqTimeout: 'k8s.aliyun.com/req-timeout',
  retryCount: 'k8s.aliyun.com/retry-count',
  retryInterval: 'k8s.aliyun.com/retry-interval',
} as const;

export const KEY_TYPE_LABEL = 'kafkasources.sources.knative.dev/key-type';
export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
export const OWN_ANNOTATION_PREFIX = 'kafka-dispatch/';

export interface SecretLookup {
  /** `<secretsDir>/<name>/<key>` is read first (a Kubernetes secret volume). */
  secretsDir: string;
  /** Then `<NAME>_<KEY>`, upper case, other characters as `_`. */
  env: NodeJS.ProcessEnv;
}

const API_VERSIONS = ['sources.knative.dev/v1', 'sources.knative.dev/v1beta1', 'sources.knative.dev/v1alpha1'];

const stringOrList = z.union([z.string(), z.array(z.string())], {
  error: (issue) => (issue.input === undefined ? 'is required: a list or a comma-separated string' : 'must be a string or a list of strings'),
});
const secretValue = z.object({ secretKeyRef: z.object({ name: z.string().min(1), key: z.string().min(1) }).optional() }).loose();
const isoDuration = z.string().refine((s) => parseIsoDuration(s) !== undefined, {
  message: 'must be an ISO-8601 duration such as PT0.3S',
});

const manifestSchema = z.object({
  apiVersion: z.string().refine((v) => API_VERSIONS.includes(v), {
    message: `must be one of ${API_VERSIONS.join(', ')}`,
  }),
  kind: z.literal('KafkaSource', { message: 'must be KafkaSource' }),
  metadata: z
    .object({
      name: z.string().min(1).optional(),
      namespace: z.string().min(1).optional(),
      annotations: z.record(z.string(), z.string({ message: 'annotation values must be strings (quote numbers)' })).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .loose()
    .optional(),
  spec: z
    .object({
      bootstrapServers: stringOrList,
      topics: stringOrList,
      consumerGroup: z.string().min(1).optional(),
      initialOffset: z.enum(['earliest', 'latest']).optional(),
      consumers: z.number().int().min(1).optional(),
      ordering: z.enum(['ordered', 'unordered', 'key']).optional(),
      delivery: z
        .object({
          retry: z.number().int().min(0).optional(),
          backoffPolicy: z.enum(['exponential', 'linear']).optional(),
          backoffDelay: isoDuration.optional(),
          timeout: isoDuration.optional(),
          deadLetterSink: z.object({ uri: z.string().optional(), ref: z.unknown().optional() }).loose().optional(),
        })
        .loose()
        .optional(),
      net: z
        .object({
          sasl: z
            .object({ enable: z.boolean().optional(), user: secretValue.optional(), password: secretValue.optional(), type: secretValue.optional() })
            .loose()
            .optional(),
          tls: z
            .object({ enable: z.boolean().optional(), cert: secretValue.optional(), key: secretValue.optional(), caCert: secretValue.optional() })
            .loose()
            .optional(),
        })
        .loose()
        .optional(),
      ceOverrides: z.object({ extensions: z.record(z.string(), z.unknown()).optional() }).loose().optional(),
      sink: z
        .object({
          uri: z.string().optional(),
          CACerts: z.string().optional(),
          ref: z.object({ kind: z.string().optional(), name: z.string().optional() }).loose().optional(),
        })
        .loose()
        .optional(),
    })
    .loose(),
});

export type KafkaSourceManifest = z.infer<typeof manifestSchema>;

const splitList = (v: string | string[]) =>
  (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

/** `['metadata','annotations','k8s.aliyun.com/domain']` → `metadata.annotations["k8s.aliyun.com/domain"]`. */
function fromZodPath(path: PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(part))) out += `${out ? '.' : ''}${String(part)}`;
    else out += `["${String(part)}"]`;
  }
  return out || '(root)';
}

export function readKafkaSourceFile(file: string, secrets?: SecretLookup): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const layer = emptyLayer(`kafkasource ${file}`);
    layer.issues.push({ path: '--kafkasource', message: `cannot read ${file}: ${(error as Error).message}` });
    return layer;
  }
  return parseKafkaSource(text, file, secrets);
}

const DEFAULT_SECRETS: SecretLookup = { secretsDir: '/var/run/secrets/kafka-dispatch', env: {} };

export function parseKafkaSource(text: string, file = 'manifest', secrets: SecretLookup = DEFAULT_SECRETS): ConfigLayer {
  const layer = emptyLayer(`kafkasource ${file}`);
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const broken = list.find((d) => d.errors.length > 0);
  if (broken) {
    layer.issues.push({ path: file, message: `not valid YAML: ${broken.errors[0]!.message.split('\n')[0]}` });
    return layer;
  }
  const objects = list.map((d) => d.toJS() as unknown).filter((o) => o !== null && o !== undefined);
  // A file may carry several manifests (a ConfigMap of them, a kustomize output); take the KafkaSource.
  const raw = objects.find((o) => (o as { kind?: unknown }).kind === 'KafkaSource') ?? objects[0];
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) layer.issues.push({ path: fromZodPath(issue.path), message: issue.message });
    // Every problem at once: the annotations are checked even when the rest of the manifest is broken.
    const rawAnnotations = (raw as { metadata?: { annotations?: unknown } } | undefined)?.metadata?.annotations;
    if (rawAnnotations && typeof rawAnnotations === 'object') {
      const strings = Object.fromEntries(Object.entries(rawAnnotations).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      const probe = emptyLayer(layer.name);
      applyOwnAnnotations(strings, probe);
      applyAskAnnotations(strings, undefined, probe);
      layer.issues.push(...probe.issues);
    }
    layer.values = {};
    return layer;
  }
  applyManifest(parsed.data, layer, secrets);
  return layer;
}

/** A secretKeyRef's value: the mounted file, else the environment variable; undefined when neither. */
export function resolveSecret(ref: { name: string; key: string }, secrets: SecretLookup): string | undefined {
  try {
    return readFileSync(join(secrets.secretsDir, ref.name, ref.key), 'utf8');
  } catch {
    const name = `${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    return secrets.env[name];
  }
}

function applyManifest(m: KafkaSourceManifest, layer: ConfigLayer, secrets: SecretLookup): void {
  const spec = m.spec;
  const annotations = m.metadata?.annotations ?? {};
  setValue(layer, 'brokers', splitList(spec.bootstrapServers), 'spec.bootstrapServers');
  setValue(layer, 'topics', splitList(spec.topics), 'spec.topics');
  if (layer.values.brokers!.length === 0) layer.issues.push({ path: 'spec.bootstrapServers', message: 'must name at least one broker' });
  if (layer.values.topics!.length === 0) layer.issues.push({ path: 'spec.topics', message: 'must name at least one topic' });
  if (spec.consumerGroup) setValue(layer, 'groupId', spec.consumerGroup, 'spec.consumerGroup');
  else if (m.metadata?.name) setValue(layer, 'groupId', `kafka-dispatch-${m.metadata.namespace ?? 'default'}-${m.metadata.name}`, 'metadata.name');
  if (spec.initialOffset) setValue(layer, 'initialOffset', spec.initialOffset, 'spec.initialOffset');
  if (m.metadata?.namespace) setValue(layer, 'sourceNamespace', m.metadata.namespace, 'metadata.namespace');
  if (m.metadata?.name) setValue(layer, 'sourceName', m.metadata.name, 'metadata.name');
  const orderAnnotation = annotations[DELIVERY_ORDER_ANNOTATION];
  if (orderAnnotation !== undefined) {
    if (orderAnnotation === 'ordered' || orderAnnotation === 'unordered') setValue(layer, 'ordering', orderAnnotation, `metadata.annotations["${DELIVERY_ORDER_ANNOTATION}"]`);
    else layer.issues.push({ path: `metadata.annotations["${DELIVERY_ORDER_ANNOTATION}"]`, message: `must be ordered or unordered, got "${orderAnnotation}"` });
  }
  if (spec.ordering) setValue(layer, 'ordering', spec.ordering, 'spec.ordering');
  if (spec.consumers !== undefined && spec.consumers > 1) {
    layer.warnings.push(`spec.consumers=${spec.consumers}: one kafka-dispatch process is one group member; run ${spec.consumers} replicas (or let KEDA scale them) instead`);
  }
  const keyType = m.metadata?.labels?.[KEY_TYPE_LABEL];
  if (keyType !== undefined) {
    const parsed = optionFor('keyType').parse(keyType);
    if ('error' in parsed) layer.issues.push({ path: `metadata.labels["${KEY_TYPE_LABEL}"]`, message: parsed.error });
    else setValue(layer, 'keyType', parsed.value, `metadata.labels["${KEY_TYPE_LABEL}"]`);
  }
  if (spec.ceOverrides?.extensions) {
    const parsed = ceOverrides(JSON.stringify({ extensions: spec.ceOverrides.extensions }));
    if ('error' in parsed) layer.issues.push({ path: 'spec.ceOverrides.extensions', message: parsed.error });
    else setValue(layer, 'ceExtensions', parsed.value, 'spec.ceOverrides.extensions');
  }
  if (spec.sink?.CACerts) setValue(layer, 'sinkCaCerts', spec.sink.CACerts, 'spec.sink.CACerts');
  applyNet(spec.net, layer, secrets);
  if (spec.sink?.uri !== undefined) {
    const parsed = optionFor('sinkUri').parse(spec.sink.uri);
    if ('error' in parsed) layer.issues.push({ path: 'spec.sink.uri', message: parsed.error });
    else setValue(layer, 'sinkUri', parsed.value, 'spec.sink.uri');
  } else if (spec.sink?.ref) {
    layer.warnings.push('spec.sink.ref cannot be resolved outside Kubernetes; set K_SINK (a SinkBinding does) or SINK_URI');
  }

  // Knative's rules: `delivery` omitted → the global defaults (retry 10, exponential, PT0.3S, PT600S);
  // `delivery` given → each missing field falls back on its own (retry 0, PT0.2S, PT600S).
  const delivery = spec.delivery;
  if (delivery) {
    setValue(layer, 'retry', delivery.retry ?? 0, 'spec.delivery.retry');
    setValue(layer, 'backoffPolicy', delivery.backoffPolicy ?? 'exponential', 'spec.delivery.backoffPolicy');
    setValue(layer, 'backoffDelayMs', delivery.backoffDelay ? parseIsoDuration(delivery.backoffDelay)! : 200, 'spec.delivery.backoffDelay');
    setValue(layer, 'requestTimeoutMs', delivery.timeout ? parseIsoDuration(delivery.timeout)! : 600_000, 'spec.delivery.timeout');
    const dls = delivery.deadLetterSink;
    if (dls?.uri !== undefined) {
      const parsed = optionFor('deadLetterSinkUri').parse(dls.uri);
      if ('error' in parsed) layer.issues.push({ path: 'spec.delivery.deadLetterSink.uri', message: parsed.error });
      else setValue(layer, 'deadLetterSinkUri', parsed.value, 'spec.delivery.deadLetterSink.uri');
    } else if (dls?.ref) {
      layer.warnings.push('spec.delivery.deadLetterSink.ref cannot be resolved outside Kubernetes; set DEAD_LETTER_SINK');
    }
  }
  applyOwnAnnotations(annotations, layer);
  applyAskAnnotations(annotations, delivery, layer);
}

const annotationPath = (name: string) => `metadata.annotations["${name}"]`;

/** ASK's `k8s.aliyun.com/*` annotations; they win over `spec.delivery` field by field, with a warning. */
function applyAskAnnotations(annotations: Record<string, string>, delivery: { timeout?: string | undefined; backoffDelay?: string | undefined; backoffPolicy?: string | undefined; retry?: number | undefined } | undefined, layer: ConfigLayer): void {
  const domain = annotations[ASK.domain];
  if (domain !== undefined) {
    if (domain.trim()) setValue(layer, 'sinkHost', domain.trim(), annotationPath(ASK.domain));
    else layer.issues.push({ path: annotationPath(ASK.domain), message: 'must not be empty' });
  }
  // The ASK annotations are the more specific of the two styles, so they win field by field.
  const askSeconds = (name: string, apply: (ms: number) => void, allowZero: boolean) => {
    const text = annotations[name];
    if (text === undefined) return;
    const ms = parseSeconds(text);
    if (ms === undefined || (!allowZero && ms === 0)) {
      layer.issues.push({ path: annotationPath(name), message: `must be a number of seconds${allowZero ? '' : ' above 0'} (decimals allowed), got "${text}"` });
      return;
    }
    apply(ms);
  };
  const overridden: string[] = [];
  askSeconds(ASK.reqTimeout, (ms) => {
    if (delivery?.timeout) overridden.push(`${ASK.reqTimeout} over spec.delivery.timeout`);
    setValue(layer, 'requestTimeoutMs', ms, annotationPath(ASK.reqTimeout));
  }, false);
  askSeconds(ASK.retryInterval, (ms) => {
    if (delivery?.backoffDelay || delivery?.backoffPolicy) overridden.push(`${ASK.retryInterval} over spec.delivery.backoffPolicy/backoffDelay`);
    setValue(layer, 'backoffPolicy', 'fixed', annotationPath(ASK.retryInterval));
    setValue(layer, 'backoffDelayMs', ms, annotationPath(ASK.retryInterval));
  }, true);
  const retryCount = annotations[ASK.retryCount];
  if (retryCount !== undefined) {
    if (!/^\d+$/.test(retryCount.trim())) {
      layer.issues.push({ path: annotationPath(ASK.retryCount), message: `must be a whole number of retries, got "${retryCount}"` });
    } else {
      if (delivery?.retry !== undefined) overridden.push(`${ASK.retryCount} over spec.delivery.retry`);
      setValue(layer, 'retry', Number(retryCount.trim()), annotationPath(ASK.retryCount));
    }
  }
  if (overridden.length > 0) {
    layer.warnings.push(`both spec.delivery and k8s.aliyun.com annotations are set; the annotations win: ${overridden.join('; ')}`);
  }
}

/** `kafka-dispatch/<flag>` annotations carry the options KafkaSource lacks, parsed like their flag. */
function applyOwnAnnotations(annotations: Record<string, string>, layer: ConfigLayer): void {
  for (const [name, text] of Object.entries(annotations)) {
    if (!name.startsWith(OWN_ANNOTATION_PREFIX)) continue;
    const flag = name.slice(OWN_ANNOTATION_PREFIX.length);
    const option = (OPTIONS as readonly OptionSpec[]).find((o) => o.flag === flag && o.kafkaSource.startsWith('annotation kafka-dispatch/'));
    const path = `metadata.annotations["${name}"]`;
    if (!option) {
      const known = (OPTIONS as readonly OptionSpec[]).filter((o) => o.kafkaSource.startsWith('annotation kafka-dispatch/')).map((o) => o.flag);
      layer.issues.push({ path, message: `unknown kafka-dispatch annotation; known: ${known.join(', ')}` });
      continue;
    }
    const parsed = option.parse(text);
    if ('error' in parsed) layer.issues.push({ path, message: parsed.error });
    else setValue(layer, option.key, parsed.value, path);
  }
}

type Net = NonNullable<KafkaSourceManifest['spec']['net']>;

function applyNet(net: Net | undefined, layer: ConfigLayer, secrets: SecretLookup): void {
  const read = (value: { secretKeyRef?: { name: string; key: string } | undefined } | undefined, path: string): string | undefined => {
    const ref = value?.secretKeyRef;
    if (!ref) return undefined;
    const secret = resolveSecret(ref, secrets);
    if (secret === undefined) {
      const envName = `${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9]/g, '_');
      layer.issues.push({ path: `${path}.secretKeyRef`, message: `secret ${ref.name}/${ref.key} not found: neither ${join(secrets.secretsDir, ref.name, ref.key)} nor env ${envName} exists` });
    }
    return secret?.trim() === '' ? undefined : secret;
  };
  const sasl = net?.sasl;
  if (sasl?.enable) {
    const user = read(sasl.user, 'spec.net.sasl.user');
    const password = read(sasl.password, 'spec.net.sasl.password');
    const type = read(sasl.type, 'spec.net.sasl.type')?.trim() ?? 'PLAIN';
    const mechanism = optionFor('saslMechanism').parse(type);
    if ('error' in mechanism) layer.issues.push({ path: 'spec.net.sasl.type', message: mechanism.error });
    else setValue(layer, 'saslMechanism', mechanism.value, 'spec.net.sasl.type');
    if (user !== undefined) setValue(layer, 'saslUsername', user.trim(), 'spec.net.sasl.user');
    else if (!sasl.user?.secretKeyRef) layer.issues.push({ path: 'spec.net.sasl.user', message: 'is required when sasl.enable is true' });
    if (password !== undefined) setValue(layer, 'saslPassword', password.trim(), 'spec.net.sasl.password');
    else if (!sasl.password?.secretKeyRef) layer.issues.push({ path: 'spec.net.sasl.password', message: 'is required when sasl.enable is true' });
  }
  const tls = net?.tls;
  if (tls?.enable) {
    setValue(layer, 'tlsEnabled', true, 'spec.net.tls.enable');
    const ca = read(tls.caCert, 'spec.net.tls.caCert');
    const cert = read(tls.cert, 'spec.net.tls.cert');
    const key = read(tls.key, 'spec.net.tls.key');
    if (ca) setValue(layer, 'tlsCaCert', ca, 'spec.net.tls.caCert');
    if (cert) setValue(layer, 'tlsCert', cert, 'spec.net.tls.cert');
    if (key) setValue(layer, 'tlsKey', key, 'spec.net.tls.key');
  }
}
