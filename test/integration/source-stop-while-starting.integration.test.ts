/**
 * KafkajsSource.stop() called while start() is still connecting (an engine stopped as it
 * starts: a service reconfiguring a tenant at once). Once stop() resolved, the consumer
 * must have left the group: a consumer that joins after stop() ran would hold its
 * partitions, heartbeating, for the life of the process, so that the group's next
 * member (the tenant's next engine) never gets them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkajsSource } from '../../packages/core/src/source/kafkajs-source.ts';
import type { SourceHandlers } from '../../packages/core/src/source/types.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, kafkaClient } from '../support/produce.ts';

const NAME = `kice-src-stop-${randomBytes(4).toString('hex')}`;
let brokers: string[];

beforeAll(async () => {
  brokers = [await startKafka()];
  await createTopic(brokers, NAME, 1);
});

const errors: string[] = [];
const handlers: SourceHandlers = {
  onAssign: () => {},
  onRevoke: () => {},
  onBatch: () => {},
  onError: (e) => errors.push(e.message),
};

let source: KafkajsSource | undefined;
afterAll(async () => {
  await source?.stop();
});

describe('KafkajsSource: stop while starting', () => {
  it('leaves no member in the group once stop() resolved', async () => {
    source = new KafkajsSource({
      brokers,
      clientId: 'kice-src-stop',
      groupId: NAME,
      topics: [NAME],
    });
    const starting = source.start(handlers).then(
      () => 'started',
      (e: Error) => e.message,
    );
    await source.stop();
    await starting;
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const [group] = (await admin.describeGroups([NAME])).groups;
      expect(group?.members).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    expect(errors).toEqual([]);
  });
});
