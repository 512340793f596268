import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createKafkajsCluster,
  installedKafkajsVersion,
  KAFKAJS_VERSION,
} from '../../../src/source/fetch/transport.ts';

describe('the raw fetch transport over kafkajs internals', () => {
  it('is written against the installed kafkajs version', () => {
    // transport.ts relies on kafkajs internals: a new kafkajs must be checked against it.
    expect(installedKafkajsVersion()).toBe(KAFKAJS_VERSION);
    expect(KAFKAJS_VERSION).toBe('2.2.4');
  });

  it("finds the Kafka object's private cluster factory (nothing connects)", () => {
    const kafka = new kafkajs.Kafka({
      brokers: ['127.0.0.1:1'],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const cluster = createKafkajsCluster(kafka, 'read_committed');
    for (const m of [
      'connect',
      'refreshMetadata',
      'addMultipleTargetTopics',
      'findTopicPartitionMetadata',
      'findBroker',
      'fetchTopicsOffset',
      'disconnect',
    ])
      expect(typeof (cluster as unknown as Record<string, unknown>)[m]).toBe('function');
  });

  it('fails with a clear INTERNAL error when the factory is absent', () => {
    expect(() => createKafkajsCluster({} as kafkajs.Kafka, 'read_committed')).toThrow(
      "the raw fetch path needs kafkajs 2.2.4 (its Kafka object has no 'private:Kafka:createCluster' cluster factory; installed: kafkajs 2.2.4): use source fetch 'kafkajs'",
    );
  });
});
