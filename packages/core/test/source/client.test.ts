import kafkajs, { type LogEntry } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { logCreator } from '../../src/source/client.ts';

const { logLevel } = kafkajs;

/** Feeds one kafkajs log entry through the mapping; returns "level message". */
function mapped(level: number, log: Record<string, unknown> & { message: string }): string[] {
  const seen: string[] = [];
  const at = (l: string) => (_: object, m?: string) => seen.push(`${l} ${m}`);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const entry: LogEntry = {
    namespace: 'Connection',
    level: level as LogEntry['level'],
    label: 'ERROR',
    log: { timestamp: '2026-01-01T00:00:00.000Z', ...log },
  };
  logCreator(logger)(logLevel.DEBUG)(entry);
  return seen;
}

describe('kafkajs log mapping', () => {
  // The lines a start against a fresh broker and a broker restart print (kafkajs 2.2.4).
  const quiet: [number, Record<string, unknown> & { message: string }][] = [
    [
      logLevel.ERROR,
      {
        message: 'Response GroupCoordinator(key: 10, version: 2)',
        error: 'The group coordinator is not available',
      },
    ],
    [
      logLevel.ERROR,
      {
        message: 'Response JoinGroup(key: 11, version: 5)',
        error: "The coordinator is loading and hence can't process requests for this group",
      },
    ],
    [logLevel.ERROR, { message: 'Connection error: connect ECONNREFUSED 127.0.0.1:29092' }],
    [
      logLevel.ERROR,
      {
        message:
          'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:29092',
      },
    ],
    [
      logLevel.ERROR,
      { message: 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: read ECONNRESET' },
    ],
    [logLevel.ERROR, { message: 'Restarting the consumer in 300ms' }],
    [logLevel.WARN, { message: 'The group is rebalancing, re-joining' }],
  ];
  for (const [level, log] of quiet) {
    it(`logs "${log.message}" at debug`, () => {
      expect(mapped(level, log)).toEqual([`debug ${log.message}`]);
    });
  }

  it('keeps the level of anything else', () => {
    expect(
      mapped(logLevel.ERROR, {
        message: 'Crash: KafkaJSNonRetriableError: Not authorized to access topics',
      }),
    ).toEqual(['error Crash: KafkaJSNonRetriableError: Not authorized to access topics']);
    expect(mapped(logLevel.WARN, { message: 'something odd' })).toEqual(['warn something odd']);
    expect(mapped(logLevel.INFO, { message: 'Starting' })).toEqual(['info Starting']);
  });
});
