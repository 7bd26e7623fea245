import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../telemetry/logger.js';
import { installLinearHeaderDecoding } from './linear-header-decoding.js';

/** One kafkajs client for the consumer and the producer, with the brokers' SASL and TLS settings. */
export function createKafka(
  settings: Pick<
    Settings,
    'brokers' | 'clientId' | 'saslMechanism' | 'saslUsername' | 'saslPassword' | 'tlsEnabled' | 'tlsCaCert' | 'tlsCert' | 'tlsKey'
  >,
  logger: Logger,
): Kafka {
  if (installLinearHeaderDecoding() === 'too-late') {
    logger.warn(
      'kafkajs was fetching before the dispatcher started: its own header decoding stays, which takes seconds for a record with thousands of headers',
    );
  }
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogger(logger),
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
  };
  if (settings.tlsEnabled || settings.tlsCaCert || settings.tlsCert) {
    config.ssl = {
      ...(settings.tlsCaCert ? { ca: [settings.tlsCaCert] } : {}),
      ...(settings.tlsCert ? { cert: settings.tlsCert } : {}),
      ...(settings.tlsKey ? { key: settings.tlsKey } : {}),
    };
  }
  if (settings.saslMechanism && settings.saslUsername && settings.saslPassword) {
    config.sasl = { mechanism: settings.saslMechanism, username: settings.saslUsername, password: settings.saslPassword } as SASLOptions;
  }
  return new Kafka(config);
}

function kafkajsLogger(logger: Logger) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      if (level === logLevel.ERROR || level === logLevel.NOTHING) child.error(rest, message);
      else if (level === logLevel.WARN) child.warn(rest, message);
      else if (level === logLevel.INFO) child.info(rest, message);
      else child.debug(rest, message);
    };
}
