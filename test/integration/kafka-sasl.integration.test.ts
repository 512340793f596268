// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} references are the subject here
/**
 * kice over the test broker's SASL_SSL listener (TLS with the CA test/infra/kafka.sh
 * made, SCRAM users it added), `kice run --once` as a child process with its secrets from
 * `${env:…}`:
 * - an unset variable is a config error naming the setting and the variable (exit 2);
 * - SCRAM-SHA-512: every event lands in the table exactly once (PyIceberg reads the exact
 *   rows), a bad record lands in the dead-letter topic (read back over SASL_SSL), and no
 *   log line or error message contains the password;
 * - a wrong password fails start with the broker's authentication error, at once (not
 *   retried until kafka.retry.timeoutMs), and does not print the wrong password either;
 * - `ssl: true` (the system's CAs, which do not include the test CA) fails start with the
 *   TLS verification error, also not retried;
 * - SCRAM-SHA-256 and PLAIN reach the same listener through kice's own client options;
 * - kafkajs's own log at debug level (every request, SASL exchange included) holds no
 *   password, right or wrong, for SCRAM and PLAIN.
 * Shares the suite's one broker: its SASL_SSL listener is always configured.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsOptions } from '../../packages/core/src/config/tls.ts';
import { KafkaAdmin } from '../../packages/core/src/source/admin.ts';
import { type SaslKafka, startKafkaSasl } from '../support/kafka.ts';
import {
  type KiceProcess,
  latestMetadata,
  recordedOffsets,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import { type Brokers, createTopic, endOffsets, produce, readTopic } from '../support/produce.ts';
import { pyicebergRows, sortBy } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
/** What kice's retries would take at most for a transient error (kafka.retry.timeoutMs). */
const RETRY_BUDGET_MS = 600_000;

let sasl: SaslKafka;
let secure: Brokers;
let dir: string;

beforeAll(async () => {
  sasl = await startKafkaSasl();
  const ca = readFileSync(sasl.caFile, 'utf8');
  secure = {
    brokers: [sasl.address],
    ssl: { ca },
    sasl: { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password },
  };
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-sasl-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Case {
  readonly topic: string;
  readonly group: string;
  readonly dlq: string;
  readonly table: string;
  readonly warehouse: string;
  readonly config: string;
}

/**
 * A topic and a kice config reaching it over SASL_SSL; the password is `${env:KICE_TEST_SASL_PASSWORD}`,
 * the CA a path relative to the config file.
 */
async function setUp(name: string, ssl: unknown = undefined): Promise<Case> {
  const topic = `kice-e2e-sasl-${name}-${RUN}`;
  const group = topic;
  const dlq = `${topic}-dlq`;
  const table = `e2e.sasl_${name}`;
  const caseDir = join(dir, name);
  const warehouse = join(caseDir, 'warehouse');
  await mkdir(caseDir, { recursive: true });
  await createTopic(secure, topic, 1);
  const config = await writeConfig(caseDir, {
    kafka: {
      brokers: [sasl.address],
      groupId: group,
      ssl: ssl ?? { ca: relative(caseDir, sasl.caFile) },
      sasl: {
        mechanism: 'scram-sha-512',
        username: sasl.username,
        password: '${env:KICE_TEST_SASL_PASSWORD}',
      },
      retry: { timeoutMs: RETRY_BUDGET_MS },
    },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic, table }],
    deadLetter: { topic: dlq },
    log: { level: 'debug' },
  });
  return { topic, group, dlq, table, warehouse, config };
}

/** Every text the process printed: its JSON log lines as printed, other stdout lines, stderr. */
function everything(p: KiceProcess): string[] {
  return [...p.lines.map((l) => JSON.stringify(l)), ...p.text, p.stderr];
}

describe('Kafka over SASL_SSL', () => {
  it('SCRAM-SHA-512: ingests every event exactly once, dead-letters, never prints the password', async () => {
    const c = await setUp('ingest');
    const COUNT = 500;
    const bad = (id: number): boolean => id === 137;
    await produce({
      brokers: secure,
      topic: c.topic,
      partitions: 1,
      first: 0,
      count: COUNT,
      record: (id) => ({ value: bad(id) ? `{"id": ${id}, ` : JSON.stringify({ id, n: id * 3 }) }),
    });

    const p = spawnKice(c.config, { once: true, env: { KICE_TEST_SASL_PASSWORD: sasl.password } });
    const exit = await p.exited;
    expect(exit.code, p.stderr).toBe(0);

    const meta = await latestMetadata(c.warehouse, c.table);
    expect(sortBy(await pyicebergRows(meta), 'id')).toEqual(
      [...Array(COUNT).keys()]
        .filter((id) => !bad(id))
        .map((id) => ({ id: BigInt(id), n: BigInt(id * 3) })),
    );
    expect(await recordedOffsets(meta, c.group)).toEqual({
      [c.topic]: await endOffsets(secure, c.topic),
    });
    const dead = await readTopic(secure, c.dlq);
    expect(
      dead.map((d) => ({ value: d.value?.toString(), offset: d.headers['kice.source.offset'] })),
    ).toEqual([{ value: '{"id": 137, ', offset: '137' }]);
    // Debug logging: the scan below covers kice's own lines from start to the last commit.
    expect(p.withMsg('kice engine started')).toHaveLength(1);
    for (const text of everything(p)) expect(text).not.toContain(sasl.password);
  });

  it('a wrong password fails start with the authentication error, not retried, not printed', async () => {
    const c = await setUp('wrongpw');
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const p = spawnKice(c.config, { once: true, env: { KICE_TEST_SASL_PASSWORD: wrong } });
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(p.stderr).toMatch(
      /^kice: KiceError: listing topics failed: SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512\n/,
    );
    // Far below the retry budget: the failure was not treated as transient.
    expect(exit.ms).toBeLessThan(RETRY_BUDGET_MS / 4);
    // kafkajs's own error lines about it are among the lines scanned below.
    const failed =
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512';
    expect(p.lines.filter((l) => l.kafkajs !== undefined).map((l) => [l.kafkajs, l.msg])).toEqual([
      ['Connection', 'Response SaslAuthenticate(key: 36, version: 1)'],
      ['SaslAuthenticator-SCRAM-SHA-512', failed],
      ['BrokerPool', failed],
    ]);
    for (const text of everything(p)) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(sasl.password);
    }
  });

  it('an unset ${env:…} variable fails kice run naming the setting and the variable', async () => {
    const c = await setUp('noenv');
    const p = spawnKice(c.config, { once: true, env: { KICE_TEST_SASL_PASSWORD: undefined } });
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr).toBe(
      `kice: invalid configuration in ${c.config}:\n  - kafka.sasl.password: environment variable KICE_TEST_SASL_PASSWORD is not set\n`,
    );
  });

  it('a broker certificate from an untrusted CA fails start with the TLS error, not retried', async () => {
    const c = await setUp('untrusted', true);
    const p = spawnKice(c.config, { once: true, env: { KICE_TEST_SASL_PASSWORD: sasl.password } });
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    expect(p.stderr).toMatch(
      /^kice: KiceError: listing topics failed: Connection error: self-signed certificate in certificate chain\n/,
    );
    expect(exit.ms).toBeLessThan(RETRY_BUDGET_MS / 4);
    for (const text of everything(p)) expect(text).not.toContain(sasl.password);
  });

  it.each(['scram-sha-256', 'plain'] as const)(
    "%s reaches the listener through kice's client options",
    async (mechanism) => {
      const admin = new KafkaAdmin({
        brokers: [sasl.address],
        clientId: `kice-e2e-${mechanism}`,
        ssl: tlsOptions({ ca: sasl.caFile, rejectUnauthorized: true }),
        sasl: { mechanism, username: sasl.username, password: sasl.password } as never,
      });
      try {
        expect(await admin.listTopics()).toContain(`kice-e2e-sasl-ingest-${RUN}`);
      } finally {
        await admin.close();
      }
    },
  );

  it('kafkajs at debug level logs no password, right or wrong, for SCRAM-SHA-512 and PLAIN', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const entries: string[] = [];
    const outcomes: string[] = [];
    for (const mechanism of ['scram-sha-512', 'plain'] as const) {
      for (const password of [sasl.password, wrong]) {
        const admin = new kafkajs.Kafka({
          clientId: 'kice-e2e-debug',
          brokers: [sasl.address],
          ssl: { ca: readFileSync(sasl.caFile, 'utf8') },
          sasl: { mechanism, username: sasl.username, password } as never,
          logLevel: kafkajs.logLevel.DEBUG,
          logCreator: () => (e) => entries.push(JSON.stringify(e)),
          retry: { retries: 0 },
        }).admin();
        try {
          await admin.connect();
          await admin.listTopics();
          outcomes.push(`${mechanism} ok`);
        } catch (e) {
          outcomes.push(`${mechanism} ${(e as Error).name}`);
        } finally {
          await admin.disconnect();
        }
      }
    }
    expect(outcomes).toEqual([
      'scram-sha-512 ok',
      'scram-sha-512 KafkaJSSASLAuthenticationError',
      'plain ok',
      'plain KafkaJSSASLAuthenticationError',
    ]);
    expect(entries.some((e) => e.includes('SaslAuthenticate'))).toBe(true);
    for (const e of entries) {
      expect(e).not.toContain(sasl.password);
      expect(e).not.toContain(wrong);
    }
  });
});
