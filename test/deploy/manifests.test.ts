import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/cli.js';

// No Kubernetes here: the manifests are checked against each other and against the code's names.
const docs = (file: string) =>
  parseAllDocuments(readFileSync(join(ROOT, 'deploy', file), 'utf8')).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are free-form YAML;
const dispatcher = docs('dispatcher.yaml').find((d) => d.kind === 'Deployment')!;
const env = Object.fromEntries(
  (dispatcher.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]),
);

describe('deploy/', () => {
  it('scales the dispatcher with KEDA on the group, topic and brokers it consumes, and on its saturation metrics', () => {
    const scaled = docs('keda-scaledobject.yaml')[0]!;
    expect(scaled.spec.scaleTargetRef.name).toBe(dispatcher.metadata.name);
    const kafka = scaled.spec.triggers.find((t: { type: string }) => t.type === 'kafka').metadata;
    expect(kafka).toMatchObject({ consumerGroup: env.KAFKA_GROUP, topic: env.KAFKA_TOPICS, bootstrapServers: env.KAFKA_BROKERS });
    const prometheus = scaled.spec.triggers.find((t: { type: string }) => t.type === 'prometheus').metadata;
    expect(prometheus.query).toContain('kafka_dispatch_in_flight_requests');
    expect(prometheus.query).toContain('kafka_dispatch_in_flight_capacity');
  });

  it('binds the dispatcher to the demo inference service with a SinkBinding and probes its health endpoints', () => {
    const binding = docs('dispatcher.yaml').find((d) => d.kind === 'SinkBinding')!;
    expect(binding.spec.subject.name).toBe(dispatcher.metadata.name);
    const ksvc = docs('inference-ksvc.yaml')[0]!;
    expect(binding.spec.sink.ref.name).toBe(ksvc.metadata.name);
    expect(ksvc.spec.template.spec.containerConcurrency).toBe(2);
    // The demo sink is tooling: the image's `tools` stage, started from build/.
    expect(ksvc.spec.template.spec.containers[0].command).toEqual(['node', 'build/tools/cli.js', 'demo-sink']);
    const container = dispatcher.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(String(env.METRICS_PORT)).toBe(String(container.ports[0].containerPort));
  });
});
