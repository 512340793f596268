/**
 * Building a kafkajs client: codecs registered first, kafkajs logs routed to a pino-like
 * logger, connection options in one shape shared by the consumer, the admin and the producer.
 *
 * kafkajs logs every transient state it retries at error level (a coordinator loading at
 * start-up, a broker restarting, its own retry and restart chatter). Those lines go to
 * debug: kice retries them itself (retry.ts) and says so once, as a warning, when a state
 * lasts; what kafkajs logs about anything else keeps its level. Registered secrets
 * (config/secrets.ts) are redacted from every entry before it reaches the logger.
 */

import type { ConnectionOptions } from 'node:tls';
import kafkajs, { type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { containsSecret, redact } from '../config/secrets.ts';
import { registerCodecs } from './codecs.ts';
import { isTransientText } from './retry.ts';
import type { SourceLogger } from './types.ts';

/** How to reach the cluster; shared by consumers, admins and producers. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, "host:port". */
  readonly brokers: readonly string[];
  /** Client id sent to the brokers (default "kice"). */
  readonly clientId?: string;
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?: SASLOptions;
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
  /** Where kafkajs's own log lines go (warn and above unless `kafkaLogLevel` says otherwise). */
  readonly logger?: SourceLogger;
  /** kafkajs log level: "error" | "warn" | "info" | "debug" (default "warn"). */
  readonly kafkaLogLevel?: 'error' | 'warn' | 'info' | 'debug';
}

const { Kafka, logLevel } = kafkajs;

const LEVELS = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
} as const;

/** kafkajs's lines about its own retries and restarts. */
const CHATTER = [/^Restarting the consumer in/, /trying again/i, /re-?joining/i, /reconnecting/i];

/** Whether a kafkajs log entry is about a transient state (its message or its error field). */
export function isTransientLogEntry(log: LogEntry['log']): boolean {
  const { message } = log;
  const error = (log as { error?: unknown }).error;
  const texts = [message, typeof error === 'string' ? error : ''];
  return texts.some((t) => t !== '' && (isTransientText(t) || CHATTER.some((re) => re.test(t))));
}

/** Routes kafkajs log entries to a pino-like logger. */
export function logCreator(logger: SourceLogger): NonNullable<KafkaConfig['logCreator']> {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message: raw, ...fields } = log;
      // Whatever logger receives these, no registered secret goes with them.
      const message = redact(raw);
      const json = JSON.stringify(fields);
      const extra = containsSecret(json) ? JSON.parse(redact(json)) : fields;
      const obj = { kafkajs: namespace, ...extra };
      if (level <= logLevel.WARN && isTransientLogEntry(log)) logger.debug(obj, message);
      else if (level <= logLevel.ERROR) logger.error(obj, message);
      else if (level <= logLevel.WARN) logger.warn(obj, message);
      else if (level <= logLevel.INFO) logger.info(obj, message);
      else logger.debug(obj, message);
    };
}

/** Creates a kafkajs client after registering the snappy/lz4/zstd codecs. */
export function createKafka(options: KafkaClientOptions): InstanceType<typeof Kafka> {
  registerCodecs();
  const config: KafkaConfig = {
    clientId: options.clientId ?? 'kice',
    brokers: [...options.brokers],
    logLevel: LEVELS[options.kafkaLogLevel ?? 'warn'],
  };
  if (options.ssl !== undefined) config.ssl = options.ssl;
  if (options.sasl !== undefined) config.sasl = options.sasl;
  if (options.connectionTimeout !== undefined) config.connectionTimeout = options.connectionTimeout;
  if (options.requestTimeout !== undefined) config.requestTimeout = options.requestTimeout;
  if (options.logger) config.logCreator = logCreator(options.logger);
  else config.logLevel = logLevel.NOTHING;
  return new Kafka(config);
}
