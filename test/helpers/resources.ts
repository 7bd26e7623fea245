import { afterAll, afterEach } from 'vitest';
import { disconnectKafka } from './kafka.js';
import { startRecordingSink, type RecordingSink } from './recording-sink.js';
import type { TestDispatcher } from './dispatcher.js';

/**
 * What a test file starts and must stop after each test: the dispatcher under test, recording sinks
 * and anything deferred. Registers the hooks itself.
 */
export function useTestResources() {
  const steps: Array<() => Promise<unknown>> = [];
  const resources = {
    dispatcher: undefined as TestDispatcher | undefined,
    defer(step: () => Promise<unknown>): void {
      steps.push(step);
    },
    async sink(...args: Parameters<typeof startRecordingSink>): Promise<RecordingSink> {
      const sink = await startRecordingSink(...args);
      steps.push(() => sink.close());
      return sink;
    },
  };
  afterEach(async () => {
    await resources.dispatcher?.stop(5000);
    resources.dispatcher = undefined;
    for (const step of steps.splice(0).reverse()) await step();
  });
  afterAll(() => disconnectKafka());
  return resources;
}
