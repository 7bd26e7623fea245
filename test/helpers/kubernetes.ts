/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are free-form YAML */
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** One rendered Kubernetes object. */
export type K8sObject = Record<string, any>;

/**
 * `kubectl kustomize DIR`, parsed. kubectl has Kustomize built in ($KUBECTL names another kubectl);
 * without kubectl, a standalone `kustomize build` (what .ci/run builds from the Go module proxy).
 */
export function kustomize(dir: string): K8sObject[] {
  const commands: Array<[string, string[]]> = [
    [process.env.KUBECTL ?? 'kubectl', ['kustomize', dir]],
    ['kustomize', ['build', dir]],
  ];
  for (const [command, args] of commands) {
    let out: string;
    try {
      out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') continue;
      throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: error });
    }
    return parseAllDocuments(out)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  }
  throw new Error(
    'neither kubectl nor kustomize found: the deploy/kubernetes tests render the Kustomize package with `kubectl kustomize`. ' +
      'Install kubectl (https://kubernetes.io/docs/tasks/tools/) or set KUBECTL to its path, or build Kustomize: ' +
      '`go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0` (what .ci/run does) and put it on PATH.',
  );
}

/** The model classes of kubernetes-models and @kubernetes-models/*, by apiVersion; kind picks the class. */
const MODELS: Record<string, () => Promise<Record<string, unknown>>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  'serving.knative.dev/v1': () => import('@kubernetes-models/knative/serving.knative.dev/v1'),
  'sources.knative.dev/v1': () => import('@kubernetes-models/knative/sources.knative.dev/v1'),
  'keda.sh/v1alpha1': () => import('@kubernetes-models/keda/keda.sh/v1alpha1'),
  'monitoring.coreos.com/v1': () => import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'),
};

/**
 * Validates one object against its schema (the models' validate() throws on a violation). An
 * apiVersion or kind with no model is an error too: nothing is rendered that is not checked.
 */
export async function validateObject(object: K8sObject): Promise<void> {
  const load = MODELS[object.apiVersion];
  if (!load) throw new Error(`no schema for apiVersion ${object.apiVersion} (${object.kind} ${object.metadata?.name})`);
  const Model = (await load())[object.kind] as (new (data: K8sObject) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  // The Knative models are generated from Go types that mark SinkBinding's status required; the API
  // server writes status, a manifest never carries it.
  const data = object.kind === 'SinkBinding' && object.status === undefined ? { ...object, status: {} } : object;
  try {
    new Model(data).validate();
  } catch (error) {
    throw new Error(`${object.kind} ${object.metadata?.name}: ${(error as Error).message}`, { cause: error });
  }
}

export const find = (objects: K8sObject[], kind: string, name?: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));

export function get(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = find(objects, kind, name);
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the rendered manifests`);
  return found;
}

/** Whether a label selector's matchLabels select these labels (matchExpressions are not used here). */
export function selects(selector: K8sObject | undefined, labels: Record<string, string>): boolean {
  const match = (selector?.matchLabels ?? {}) as Record<string, string>;
  if (selector?.matchExpressions) throw new Error('matchExpressions are not supported by this check');
  return Object.keys(match).length > 0 && Object.entries(match).every(([k, v]) => labels[k] === v);
}

/** What Kubernetes gives a container as its environment: envFrom first, env over it. */
export interface ContainerEnv {
  values: Record<string, string>;
  secretRefs: Record<string, { name: string; key: string }>;
  problems: string[];
}

export const SECRET_PLACEHOLDER = 'from-a-secret';

export function containerEnv(objects: K8sObject[], container: K8sObject, namespace: string): ContainerEnv {
  const values: Record<string, string> = {};
  const secretRefs: ContainerEnv['secretRefs'] = {};
  const problems: string[] = [];
  const configMap = (name: string) => find(objects, 'ConfigMap', name);
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMap(from.configMapRef.name);
      if (!cm) problems.push(`envFrom configMap ${from.configMapRef.name} is not in the rendered manifests`);
      else for (const [k, v] of Object.entries(cm.data ?? {})) values[(from.prefix ?? '') + k] = String(v);
    } else problems.push(`envFrom ${JSON.stringify(from)}: its variable names cannot be checked`);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) values[e.name] = String(e.value);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') values[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      secretRefs[e.name] = { name: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key };
      values[e.name] = SECRET_PLACEHOLDER;
    } else if (e.valueFrom?.configMapKeyRef) {
      const v = configMap(e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key];
      if (v === undefined) problems.push(`env ${e.name}: configMapKeyRef not in the rendered manifests`);
      else values[e.name] = String(v);
    } else problems.push(`env ${e.name}: ${JSON.stringify(e.valueFrom)} is not understood by this check`);
  }
  return { values, secretRefs, problems };
}

/** Capabilities Pod Security "baseline" lets a container add. */
const BASELINE_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];
/** Volume types Pod Security "restricted" allows. */
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/**
 * What keeps a pod spec from Pod Security "restricted" (the policies of
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/, baseline included), and a
 * non-numeric or missing runAsUser, which runAsNonRoot cannot verify on an image with a named user.
 */
export function restrictedViolations(pod: K8sObject, baselineOnly = false): string[] {
  const out: string[] = [];
  const podSc = pod.securityContext ?? {};
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[field]) out.push(`pod: ${field}`);
  if (podSc.sysctls?.length) out.push('pod: sysctls');
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    if (type === 'hostPath' || (!baselineOnly && !RESTRICTED_VOLUMES.includes(type ?? ''))) out.push(`volume ${volume.name}: ${type}`);
  }
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged) out.push(`${at}: privileged`);
    if (sc.procMount && sc.procMount !== 'Default') out.push(`${at}: procMount`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${at}: hostPort`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    if (seccomp === 'Unconfined') out.push(`${at}: seccompProfile Unconfined`);
    const added = (sc.capabilities?.add ?? []) as string[];
    const beyondBaseline = added.filter((cap) => !BASELINE_CAPABILITIES.includes(cap));
    if (beyondBaseline.length > 0) out.push(`${at}: adds capabilities beyond baseline: ${beyondBaseline.join(',')}`);
    if (baselineOnly) continue;
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is not false`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`${at}: runAsNonRoot is not true`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    if (typeof uid !== 'number' || uid === 0) out.push(`${at}: runAsUser is not a numeric non-root UID`);
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) out.push(`${at}: seccompProfile is not RuntimeDefault or Localhost`);
    if (!((sc.capabilities?.drop ?? []) as string[]).includes('ALL')) out.push(`${at}: capabilities.drop lacks ALL`);
    if (added.some((cap) => cap !== 'NET_BIND_SERVICE')) out.push(`${at}: adds capabilities ${added.join(',')}`);
  }
  return out;
}

/** The metric names a PromQL expression reads: identifiers outside label matchers, less PromQL's own words. */
const PROMQL_WORDS = new Set(
  (
    'sum avg min max count stddev stdvar topk bottomk quantile group count_values by without on ignoring group_left ' +
    'group_right and or unless bool offset rate irate increase delta idelta deriv histogram_quantile clamp clamp_min ' +
    'clamp_max abs ceil floor round scalar vector time max_over_time min_over_time avg_over_time sum_over_time ' +
    'count_over_time last_over_time absent absent_over_time label_replace label_join sort sort_desc'
  ).split(' '),
);

export function promqlMetricNames(query: string): string[] {
  const outside = query
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = outside.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n)))];
}

/** The values of `label="..."` matchers in a PromQL expression. */
export function promqlMatchers(query: string, label: string): string[] {
  return [...query.matchAll(new RegExp(`\\b${label}\\s*=\\s*"([^"]*)"`, 'g'))].map((m) => m[1]!);
}
