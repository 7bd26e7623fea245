import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { parseIsoDuration, parseSeconds } from './duration.js';
import { optionFor } from './options.js';
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

const API_VERSIONS = ['sources.knative.dev/v1', 'sources.knative.dev/v1beta1', 'sources.knative.dev/v1alpha1'];

const stringOrList = z.union([z.string(), z.array(z.string())]);
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
        })
        .loose()
        .optional(),
      sink: z
        .object({
          uri: z.string().optional(),
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

function fromZodPath(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(root)';
}

export function readKafkaSourceFile(file: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const layer = emptyLayer(`kafkasource ${file}`);
    layer.issues.push({ path: '--kafkasource', message: `cannot read ${file}: ${(error as Error).message}` });
    return layer;
  }
  return parseKafkaSource(text, file);
}

export function parseKafkaSource(text: string, file = 'manifest'): ConfigLayer {
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
    return layer;
  }
  applyManifest(parsed.data, layer);
  return layer;
}

function applyManifest(m: KafkaSourceManifest, layer: ConfigLayer): void {
  const spec = m.spec;
  const annotations = m.metadata?.annotations ?? {};
  setValue(layer, 'brokers', splitList(spec.bootstrapServers), 'spec.bootstrapServers');
  setValue(layer, 'topics', splitList(spec.topics), 'spec.topics');
  if (layer.values.brokers!.length === 0) layer.issues.push({ path: 'spec.bootstrapServers', message: 'must name at least one broker' });
  if (layer.values.topics!.length === 0) layer.issues.push({ path: 'spec.topics', message: 'must name at least one topic' });
  if (spec.consumerGroup) setValue(layer, 'groupId', spec.consumerGroup, 'spec.consumerGroup');
  else if (m.metadata?.name) setValue(layer, 'groupId', `kafka-dispatch-${m.metadata.namespace ?? 'default'}-${m.metadata.name}`, 'metadata.name');
  if (spec.initialOffset) setValue(layer, 'initialOffset', spec.initialOffset, 'spec.initialOffset');
  if (spec.ordering) setValue(layer, 'ordering', spec.ordering, 'spec.ordering');
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
  }

  const annotationPath = (name: string) => `metadata.annotations["${name}"]`;
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
