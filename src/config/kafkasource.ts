import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isScalar, parseAllDocuments, visit, type Document } from 'yaml';
import { z } from 'zod';
import { parseIsoDuration, parseSeconds } from './duration.js';
import { emptyLayer, setValue, setValues, type ConfigLayer } from './layer.js';
import { quote } from './echo.js';
import { extensionValues, fromText, kindOf, parseText, type TextSchema } from './parsers.js';
import { formatBytes, readBoundedFile } from './read-bounded.js';
import { yamlShapeProblem } from './yaml-shape.js';
import { ANNOTATABLE, BACKOFF_POLICY, ORDERING, OWN_ANNOTATION_PREFIX, SCHEMA, optionFor } from './schema.js';

/**
 * Reads a Knative KafkaSource manifest (sources.knative.dev v1, v1beta1, v1alpha1), including
 * Alibaba Cloud ASK's `k8s.aliyun.com/*` annotations, into a configuration layer. The manifest's
 * structure is its own (manifestSchema below); a field that maps to a setting is checked with that
 * setting's value schema or text parser from the configuration schema (schema.ts).
 */

export const ASK = {
  domain: 'k8s.aliyun.com/domain',
  reqTimeout: 'k8s.aliyun.com/req-timeout',
  retryCount: 'k8s.aliyun.com/retry-count',
  retryInterval: 'k8s.aliyun.com/retry-interval',
} as const;

export const KEY_TYPE_LABEL = 'kafkasources.sources.knative.dev/key-type';
export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
export { OWN_ANNOTATION_PREFIX };

export interface SecretLookup {
  /** `<secretsDir>/<name>/<key>` is read first (a Kubernetes secret volume). */
  secretsDir: string;
  /** Then `<NAME>_<KEY>`, upper case, other characters as `_`. */
  env: NodeJS.ProcessEnv;
}

const API_VERSIONS = ['sources.knative.dev/v1', 'sources.knative.dev/v1beta1', 'sources.knative.dev/v1alpha1'];

const stringOrList = z.union([z.string(), z.array(z.string())], {
  error: (issue) =>
    issue.input === undefined ? 'is required: a list or a comma-separated string' : 'must be a string or a list of strings',
});
const secretValue = z.object({ secretKeyRef: z.object({ name: z.string().min(1), key: z.string().min(1) }).optional() }).loose();
/** KafkaSource durations are ISO-8601 only (Knative's rule); the setting's schema then checks the milliseconds. */
const isoDuration = (value: z.ZodType<number>) =>
  fromText(value, parseIsoDuration, { metavar: 'DURATION', expected: 'must be an ISO-8601 duration such as PT0.3S' });
/** Knative's backoff policies: ours less `fixed`, which only the ASK annotation selects. */
const knativeBackoffPolicy = BACKOFF_POLICY.exclude(['fixed']);
const list = (value: z.ZodType<string[], string[]>) => stringOrList.transform(splitList).pipe(value);

const manifestSchema = z.object({
  apiVersion: z.string().refine((v) => API_VERSIONS.includes(v), {
    message: `must be one of ${API_VERSIONS.join(', ')}`,
  }),
  kind: z.literal('KafkaSource', { message: 'must be KafkaSource' }),
  metadata: z
    .object({
      name: SCHEMA.sourceName.value.optional(),
      namespace: SCHEMA.sourceNamespace.value.optional(),
      annotations: z.record(z.string(), z.string({ message: 'annotation values must be strings (quote numbers)' })).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .loose()
    .optional(),
  spec: z
    .object({
      bootstrapServers: list(SCHEMA.brokers.value),
      topics: list(SCHEMA.topics.value),
      consumerGroup: SCHEMA.groupId.value.optional(),
      initialOffset: SCHEMA.initialOffset.value.optional(),
      consumers: SCHEMA.consumers.value.optional(),
      ordering: SCHEMA.ordering.value.optional(),
      delivery: z
        .object({
          retry: SCHEMA.retry.value.optional(),
          backoffPolicy: knativeBackoffPolicy.optional(),
          backoffDelay: isoDuration(SCHEMA.backoffDelayMs.value).optional(),
          timeout: isoDuration(SCHEMA.requestTimeoutMs.value).optional(),
          deadLetterSink: z
            .object({ uri: optionFor('deadLetterSinkUri').text.optional(), ref: z.unknown().optional() })
            .loose()
            .optional(),
        })
        .loose()
        .optional(),
      net: z
        .object({
          sasl: z
            .object({
              enable: z.boolean().optional(),
              user: secretValue.optional(),
              password: secretValue.optional(),
              type: secretValue.optional(),
            })
            .loose()
            .optional(),
          tls: z
            .object({
              enable: z.boolean().optional(),
              cert: secretValue.optional(),
              key: secretValue.optional(),
              caCert: secretValue.optional(),
            })
            .loose()
            .optional(),
        })
        .loose()
        .optional(),
      ceOverrides: z
        .object({
          extensions: z
            .record(z.string(), z.unknown(), { error: (issue) => `must be an object of strings, got ${kindOf(issue.input)}` })
            .transform((extensions, ctx) => {
              try {
                return extensionValues(extensions);
              } catch (error) {
                ctx.addIssue({ code: 'custom', message: (error as Error).message });
                return z.NEVER;
              }
            })
            .pipe(SCHEMA.ceExtensions.value)
            .optional(),
        })
        .loose()
        .optional(),
      sink: z
        .object({
          uri: optionFor('sinkUri').text.optional(),
          CACerts: optionFor('sinkCaCerts', 'sink-ca-certs').text.optional(),
          ref: z.object({ kind: z.string().optional(), name: z.string().optional() }).loose().optional(),
        })
        .loose()
        .optional(),
    })
    .loose(),
});

export type KafkaSourceManifest = z.infer<typeof manifestSchema>;

/** A list or a comma-separated string, or a list of those. */
function splitList(v: string | string[]): string[] {
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `['metadata','annotations','k8s.aliyun.com/domain']` → `metadata.annotations["k8s.aliyun.com/domain"]`. */
function fromZodPath(path: PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]{0,99}$/.test(String(part))) out += `${out ? '.' : ''}${String(part)}`;
    else out += `[${quote(String(part))}]`;
  }
  return out || '(root)';
}

/**
 * The largest manifest read. Kubernetes keeps no object above about 1.5 MiB (etcd's request limit),
 * so a bigger file is no KafkaSource; and the YAML parser's time grows faster than the size (4 MB
 * kept `validate` busy for minutes).
 */
export const MANIFEST_MAX_BYTES = 1.5 * 1024 * 1024;
const TOO_LARGE_HINT = ' for a manifest (Kubernetes keeps no object above about 1.5 MiB)';

export function readKafkaSourceFile(file: string, secrets?: SecretLookup): ConfigLayer {
  const read = readBoundedFile(file, MANIFEST_MAX_BYTES);
  if ('error' in read) {
    const layer = emptyLayer(`kafkasource ${file}`);
    const hint = read.error.endsWith('allowed') ? TOO_LARGE_HINT : '';
    layer.issues.push({ path: '--kafkasource', message: `cannot read ${quote(file)}: ${read.error}${hint}` });
    return layer;
  }
  return parseKafkaSource(read.text, file, secrets);
}

const DEFAULT_SECRETS: SecretLookup = { secretsDir: '/var/run/secrets/kafka-dispatch', env: {} };

export function parseKafkaSource(text: string, file = 'manifest', secrets: SecretLookup = DEFAULT_SECRETS): ConfigLayer {
  const layer = emptyLayer(`kafkasource ${file}`);
  const bytes = Buffer.byteLength(text);
  if (bytes > MANIFEST_MAX_BYTES) {
    layer.issues.push({
      path: file,
      message: `is ${formatBytes(bytes)}, more than the ${formatBytes(MANIFEST_MAX_BYTES)} allowed${TOO_LARGE_HINT}`,
    });
    return layer;
  }
  const found = findKafkaSource(text);
  if ('error' in found) {
    layer.issues.push({ path: file, message: found.error });
    return layer;
  }
  if (found.ignored.length > 0) layer.warnings.push(`${file}: only the KafkaSource is read; ignored ${found.ignored.join(', ')}`);
  const raw = found.manifest;
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

/**
 * The one KafkaSource of a file. A file may carry other objects beside it (a kustomize output, the
 * Deployment next to it): they are ignored, by name, with a warning. Two KafkaSources are refused, as
 * either could be meant; a file of several documents and no KafkaSource too.
 */
function findKafkaSource(text: string): { manifest: unknown; ignored: string[] } | { error: string } {
  const shape = yamlShapeProblem(text);
  if (shape !== undefined) return { error: shape };
  // yaml's own check of duplicate keys compares every pair of a map's keys (21 s for a map of 45,000):
  // duplicateKey does it in one pass instead.
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const broken = list.find((d) => d.errors.length > 0);
  if (broken) return { error: `not valid YAML: ${broken.errors[0]!.message.split('\n')[0]}` };
  for (const [i, doc] of list.entries()) {
    const duplicate = duplicateKey(doc);
    if (duplicate !== undefined)
      return { error: `not valid YAML: document ${i + 1}: the key ${quote(duplicate)} appears twice in one map` };
  }
  const objects: Array<{ document: number; value: unknown }> = [];
  for (const [i, doc] of list.entries()) {
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (error) {
      // yaml refuses an alias explosion (a billion laughs) here, not while parsing.
      return { error: `not valid YAML: document ${i + 1}: ${(error as Error).message}` };
    }
    if (value !== null && value !== undefined) objects.push({ document: i + 1, value });
  }
  const sources = objects.filter((o) => (o.value as { kind?: unknown }).kind === 'KafkaSource');
  if (sources.length > 1) {
    return { error: `holds ${sources.length} KafkaSources (${sources.map(describeDocument).join(', ')}): give one KafkaSource per file` };
  }
  if (sources.length === 0 && objects.length > 1) {
    return { error: `holds no KafkaSource among its ${objects.length} documents: ${objects.map(describeDocument).join(', ')}` };
  }
  const manifest = sources[0] ?? objects[0];
  return { manifest: manifest?.value, ignored: objects.filter((o) => o !== manifest).map(describeDocument) };
}

/** A key that appears twice in one of the document's maps (YAML forbids it), or undefined. */
function duplicateKey(doc: Document): string | undefined {
  let duplicate: string | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          duplicate = key;
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return duplicate;
}

/** `document 2 (ConfigMap "other")`. */
function describeDocument({ document, value }: { document: number; value: unknown }): string {
  const { kind, metadata } = value as { kind?: unknown; metadata?: { name?: unknown } };
  const what = typeof kind === 'string' ? quote(kind).slice(1, -1) : kindOf(value);
  return `document ${document} (${what}${typeof metadata?.name === 'string' ? ` ${quote(metadata.name)}` : ''})`;
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
  setValue(layer, 'brokers', spec.bootstrapServers, 'spec.bootstrapServers');
  setValue(layer, 'topics', spec.topics, 'spec.topics');
  if (spec.consumerGroup) setValue(layer, 'groupId', spec.consumerGroup, 'spec.consumerGroup');
  else if (m.metadata?.name)
    setValue(layer, 'groupId', `kafka-dispatch-${m.metadata.namespace ?? 'default'}-${m.metadata.name}`, 'metadata.name');
  if (spec.initialOffset) setValue(layer, 'initialOffset', spec.initialOffset, 'spec.initialOffset');
  if (m.metadata?.namespace) setValue(layer, 'sourceNamespace', m.metadata.namespace, 'metadata.namespace');
  if (m.metadata?.name) setValue(layer, 'sourceName', m.metadata.name, 'metadata.name');
  const orderAnnotation = annotations[DELIVERY_ORDER_ANNOTATION];
  if (orderAnnotation !== undefined) {
    const parsed = parseText(DELIVERY_ORDER, orderAnnotation);
    if ('error' in parsed) layer.issues.push({ path: annotationPath(DELIVERY_ORDER_ANNOTATION), message: parsed.error });
    else setValue(layer, 'ordering', parsed.value, annotationPath(DELIVERY_ORDER_ANNOTATION));
  }
  if (spec.ordering) setValue(layer, 'ordering', spec.ordering, 'spec.ordering');
  if (spec.consumers !== undefined) setValue(layer, 'consumers', spec.consumers, 'spec.consumers');
  const keyType = m.metadata?.labels?.[KEY_TYPE_LABEL];
  if (keyType !== undefined) {
    const parsed = optionFor('keyType').parse(keyType);
    if ('error' in parsed) layer.issues.push({ path: `metadata.labels["${KEY_TYPE_LABEL}"]`, message: parsed.error });
    else setValue(layer, 'keyType', parsed.value, `metadata.labels["${KEY_TYPE_LABEL}"]`);
  }
  if (spec.ceOverrides?.extensions) setValue(layer, 'ceExtensions', spec.ceOverrides.extensions, 'spec.ceOverrides.extensions');
  if (spec.sink?.CACerts) setValue(layer, 'sinkCaCerts', spec.sink.CACerts, 'spec.sink.CACerts');
  applyNet(spec.net, layer, secrets);
  if (spec.sink?.uri !== undefined) setValue(layer, 'sinkUri', spec.sink.uri, 'spec.sink.uri');
  else if (spec.sink?.ref) {
    layer.warnings.push('spec.sink.ref cannot be resolved outside Kubernetes; set K_SINK (a SinkBinding does) or SINK_URI');
  }

  // Knative's rules: `delivery` omitted → the global defaults (retry 10, exponential, PT0.3S, PT600S);
  // `delivery` given → each missing field falls back on its own (retry 0, PT0.2S, PT600S).
  const delivery = spec.delivery;
  if (delivery) {
    setValue(layer, 'retry', delivery.retry ?? 0, 'spec.delivery.retry');
    setValue(layer, 'backoffPolicy', delivery.backoffPolicy ?? 'exponential', 'spec.delivery.backoffPolicy');
    setValue(layer, 'backoffDelayMs', delivery.backoffDelay ?? 200, 'spec.delivery.backoffDelay');
    setValue(layer, 'requestTimeoutMs', delivery.timeout ?? 600_000, 'spec.delivery.timeout');
    const dls = delivery.deadLetterSink;
    if (dls?.uri !== undefined) setValue(layer, 'deadLetterSinkUri', dls.uri, 'spec.delivery.deadLetterSink.uri');
    else if (dls?.ref) {
      layer.warnings.push('spec.delivery.deadLetterSink.ref cannot be resolved outside Kubernetes; set DEAD_LETTER_SINK');
    }
  }
  applyOwnAnnotations(annotations, layer);
  applyAskAnnotations(annotations, delivery, layer);
}

const annotationPath = (name: string) => `metadata.annotations[${quote(name)}]`;

/** The text of the annotations that are not options of their own, made from the settings' value schemas. */
const DELIVERY_ORDER = fromText(ORDERING.exclude(['key']), (text) => text, {
  metavar: 'ordered|unordered',
  expected: 'must be ordered or unordered',
  oneMessage: true,
});
const ASK_TEXT = {
  domain: optionFor('sinkHost').text,
  // Out of range, the setting's own message: "must be at most 24 h (86400 s)".
  reqTimeout: fromText(SCHEMA.requestTimeoutMs.value, parseSeconds, {
    metavar: 'SECONDS',
    expected: 'must be a number of seconds above 0 (decimals allowed)',
  }),
  retryInterval: fromText(SCHEMA.backoffDelayMs.value, parseSeconds, {
    metavar: 'SECONDS',
    expected: 'must be a number of seconds (decimals allowed)',
  }),
  retryCount: fromText(SCHEMA.retry.value, (text) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined), {
    metavar: 'N',
    expected: 'must be a whole number of retries',
  }),
};

type Delivery = NonNullable<KafkaSourceManifest['spec']['delivery']>;

/** ASK's `k8s.aliyun.com/*` annotations; they win over `spec.delivery` field by field, with a warning. */
function applyAskAnnotations(annotations: Record<string, string>, delivery: Delivery | undefined, layer: ConfigLayer): void {
  const read = <T>(name: string, text: TextSchema<T>, apply: (value: T) => void) => {
    const input = annotations[name];
    if (input === undefined) return;
    const parsed = parseText(text, input);
    if ('error' in parsed) layer.issues.push({ path: annotationPath(name), message: parsed.error });
    else apply(parsed.value);
  };
  read(ASK.domain, ASK_TEXT.domain, (host) => setValue(layer, 'sinkHost', host, annotationPath(ASK.domain)));
  // The ASK annotations are the more specific of the two styles, so they win field by field.
  const overridden: string[] = [];
  read(ASK.reqTimeout, ASK_TEXT.reqTimeout, (ms) => {
    if (delivery?.timeout !== undefined) overridden.push(`${ASK.reqTimeout} over spec.delivery.timeout`);
    setValue(layer, 'requestTimeoutMs', ms, annotationPath(ASK.reqTimeout));
  });
  read(ASK.retryInterval, ASK_TEXT.retryInterval, (ms) => {
    if (delivery?.backoffDelay !== undefined || delivery?.backoffPolicy !== undefined)
      overridden.push(`${ASK.retryInterval} over spec.delivery.backoffPolicy/backoffDelay`);
    setValue(layer, 'backoffPolicy', 'fixed', annotationPath(ASK.retryInterval));
    setValue(layer, 'backoffDelayMs', ms, annotationPath(ASK.retryInterval));
  });
  read(ASK.retryCount, ASK_TEXT.retryCount, (retry) => {
    if (delivery?.retry !== undefined) overridden.push(`${ASK.retryCount} over spec.delivery.retry`);
    setValue(layer, 'retry', retry, annotationPath(ASK.retryCount));
  });
  if (overridden.length > 0) {
    layer.warnings.push(`both spec.delivery and k8s.aliyun.com annotations are set; the annotations win: ${overridden.join('; ')}`);
  }
}

/** `kafka-dispatch/<flag>` annotations carry the options KafkaSource lacks (those the schema marks annotatable), parsed like their flag. */
function applyOwnAnnotations(annotations: Record<string, string>, layer: ConfigLayer): void {
  for (const [name, text] of Object.entries(annotations)) {
    if (!name.startsWith(OWN_ANNOTATION_PREFIX)) continue;
    const flag = name.slice(OWN_ANNOTATION_PREFIX.length);
    const option = ANNOTATABLE.find((o) => o.flag === flag);
    const path = annotationPath(name);
    if (!option) {
      layer.issues.push({ path, message: `unknown kafka-dispatch annotation; known: ${ANNOTATABLE.map((o) => o.flag).join(', ')}` });
      continue;
    }
    const parsed = option.parse(text);
    if ('error' in parsed) layer.issues.push({ path, message: parsed.error });
    else {
      setValue(layer, option.key, parsed.value, path);
      if (option.implies) setValues(layer, option.implies, path);
    }
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
      layer.issues.push({
        path: `${path}.secretKeyRef`,
        message: `secret ${ref.name}/${ref.key} not found: neither ${join(secrets.secretsDir, ref.name, ref.key)} nor env ${envName} exists`,
      });
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
    else if (!sasl.password?.secretKeyRef)
      layer.issues.push({ path: 'spec.net.sasl.password', message: 'is required when sasl.enable is true' });
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
