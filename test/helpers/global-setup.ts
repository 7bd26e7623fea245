import type { TestProject } from 'vitest/node';
import { LocalBroker } from '../../tools/broker/local-broker.js';
import { waitForKafka } from '../../tools/broker/wait.js';
import { createLogger } from '../../src/telemetry/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

const HOW_TO_GET_A_BROKER = `No Kafka broker for the integration tests. Any one of these works:
  - install Java 17+ and Maven (apt-get install openjdk-17-jre-headless maven): the tests then start
    a local Apache Kafka broker from its jars by themselves (npm run kafka -- start does the same);
  - start a Docker engine: the tests then use testcontainers;
  - point KAFKA_BROKERS at a running broker (docker compose up kafka → KAFKA_BROKERS=localhost:9094).`;

/**
 * One broker for the whole run: KAFKA_BROKERS when set; else a container when a Docker engine
 * answers; else a local broker from Apache Kafka's jars. Never skips: no broker fails the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardown: Array<() => Promise<unknown>> = [];
  let brokers = process.env.KAFKA_BROKERS;
  try {
    if (brokers) {
      await waitForKafka(brokers, 60_000);
    } else if (await dockerAnswers()) {
      const { KafkaContainer } = await import('@testcontainers/kafka');
      const container = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
      teardown.push(() => container.stop());
      brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
      await waitForKafka(brokers, 60_000);
    } else {
      const port = Number(process.env.KD_TEST_BROKER_PORT ?? 29092);
      const broker = new LocalBroker({ port, controllerPort: port + 1, logger: createLogger({ level: 'info', format: 'json' }) });
      const started = Date.now();
      const result = await broker.start();
      process.stderr.write(
        `[global-setup] local Apache Kafka ${broker.version} at ${result.brokers} (${result.startedByUs ? `started in ${Date.now() - started} ms` : 'already running'})\n`,
      );
      // Only a broker this run started is stopped by it.
      if (result.startedByUs) teardown.push(() => broker.stop());
      brokers = result.brokers;
    }
  } catch (error) {
    throw new Error(`${HOW_TO_GET_A_BROKER}\n\ncause: ${(error as Error).message}`, { cause: error });
  }
  project.provide('kafkaBrokers', brokers);
  return async () => {
    for (const step of teardown.reverse()) await step();
  };
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.KD_TEST_NO_DOCKER === '1') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([getContainerRuntimeClient(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), 5000))]);
    return true;
  } catch {
    return false;
  }
}
