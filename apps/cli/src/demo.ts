/**
 * `kice demo`: starts the local Apache Kafka broker (test/infra/kafka.sh), creates demo
 * topics, produces realistic events continuously, runs the engine into a local warehouse
 * folder with a live progress line, then prints per-table row counts (checked against
 * what was produced), a sample of rows read back, and how to open the tables in DuckDB
 * or PyIceberg. Ctrl-C stops it cleanly at any time.
 *
 * `--stack s3-rest`: the same demo against production-shaped services instead of a local
 * folder: the local S3 server and Apache Iceberg's REST catalog (./demo-stack.ts); kice
 * commits through the REST catalog and writes data files to S3, and the results are read
 * back through the same catalog.
 *
 * `--avro`: also starts the local Schema Registry (test/infra/schema-registry.sh, at the
 * same time as the broker) and streams payment events in Avro (./demo-avro.ts) into
 * `demo.payments` (`format: avro`). Without `--avro` or `--no-avro`, the Avro topic is
 * added when the local registry already runs (its status answers), and left out otherwise:
 * the registry's first start downloads it and takes about half a minute, which the plain
 * demo does not need.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCatalog, createEngine, createFileIO, type Engine, validateConfig } from '@kice/core';
import {
  arrowTableToRows,
  currentSchema,
  planFiles,
  readParquet,
  type StructType,
} from '@kice/iceberg';
import kafkajs from 'kafkajs';
import { stringify as stringifyYaml } from 'yaml';
import { paymentRecord, registerPaymentSchema } from './demo-avro.ts';
import { type DemoStack, startS3RestStack } from './demo-stack.ts';
import { formatTables, listTables } from './tables.ts';

// bin/kice.mjs sets KICE_REPO_ROOT (this file may run from a bundle elsewhere).
const ROOT =
  process.env.KICE_REPO_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TOPICS = {
  orders: 'demo.orders',
  clicks: 'demo.clicks',
  views: 'demo.views.web',
  payments: 'demo.payments',
  dlq: 'demo.dead-letters',
};

function sh(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile('bash', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${args.join(' ')} failed:\n${stderr}`));
      else res(stdout);
    });
  });
}

const COUNTRIES = ['DE', 'FR', 'US', 'JP', 'BR', 'IN', 'GB', 'ES'];
const CITIES: Record<string, string[]> = {
  DE: ['Berlin', 'München'],
  FR: ['Paris', 'Lyon'],
  US: ['New York', 'Austin'],
  JP: ['東京', '大阪'],
  BR: ['São Paulo', 'Recife'],
  IN: ['Mumbai', 'Pune'],
  GB: ['London', 'Leeds'],
  ES: ['Madrid', 'Sevilla'],
};
const PAGES = ['/', '/search', '/product', '/cart', '/checkout', '/account'];
const pick = <T>(a: readonly T[]): T => a[Math.floor(Math.random() * a.length)] as T;

function order(i: number): object {
  const country = pick(COUNTRIES);
  const items = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
    sku: `SKU-${(i * 7 + k) % 5000}`,
    qty: 1 + (k % 2),
    price: Math.round(Math.random() * 10000) / 100,
  }));
  return {
    order_id: `o-${i}`,
    user_id: i % 20000,
    ts: new Date().toISOString(),
    amount: Math.round(items.reduce((a, it) => a + it.qty * it.price, 0) * 100) / 100,
    currency:
      country === 'US' ? 'USD' : country === 'GB' ? 'GBP' : country === 'JP' ? 'JPY' : 'EUR',
    items,
    shipping: { country, city: pick(CITIES[country] as string[]) },
    express: i % 5 === 0,
  };
}

function click(i: number): object {
  return {
    event_id: `c-${i}`,
    user_id: i % 20000,
    ts: new Date().toISOString(),
    page: pick(PAGES),
    referrer: i % 4 === 0 ? null : 'https://example.com/',
    device: {
      os: pick(['ios', 'android', 'linux', 'windows', 'macos']),
      browser: pick(['firefox', 'chrome', 'safari']),
    },
  };
}

function view(i: number): object {
  return {
    view_id: `v-${i}`,
    user_id: i % 20000,
    ts: new Date().toISOString(),
    ms_on_page: 200 + (i % 5000),
  };
}

/** Row values for display: timestamps as ISO-8601, other 64-bit integers as numbers. */
function displayRow(struct: StructType, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of struct.fields) {
    const v = row[f.name];
    if ((f.type === 'timestamptz' || f.type === 'timestamp') && typeof v === 'bigint') {
      out[f.name] = new Date(Number(v / 1000n)).toISOString();
    } else if (
      typeof f.type !== 'string' &&
      f.type.type === 'struct' &&
      v &&
      typeof v === 'object'
    ) {
      out[f.name] = displayRow(f.type, v as Record<string, unknown>);
    } else {
      out[f.name] = JSON.parse(
        JSON.stringify(v ?? null, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)),
      );
    }
  }
  return out;
}

/** Where the demo writes: a local warehouse folder, or S3 behind a REST catalog. */
export type DemoStackName = 'local' | 's3-rest';
export const DEMO_STACKS: readonly DemoStackName[] = ['local', 's3-rest'];

export async function demoCommand(options: {
  seconds: number;
  rate: number;
  stack?: DemoStackName;
  /** Add the Avro topic through a local Schema Registry; undefined: only if one runs. */
  avro?: boolean;
}): Promise<number> {
  const out = process.stdout;
  if (!existsSync(join(ROOT, 'test/infra/kafka.sh'))) {
    process.stderr.write(
      'kice demo: runs from a clone of the kice repository only (it starts the local services of test/infra/); the installed package has run and tables\n',
    );
    return 1;
  }
  const stack: DemoStack | undefined =
    options.stack === 's3-rest'
      ? await startS3RestStack(ROOT, (line) => out.write(`kice demo: ${line}\n`))
      : undefined;
  out.write(
    'kice demo: starting the local Apache Kafka broker (first run downloads its jars from Maven Central)…\n',
  );
  const lastLine = (s: string) => s.trim().split('\n').pop() as string;
  // The registry starts at the same time as the broker (its cold start is the longer one).
  let registryStart: Promise<string> | undefined;
  const avro =
    options.avro ??
    (await sh([join(ROOT, 'test/infra/schema-registry.sh'), 'status']).then(
      () => true,
      () => false,
    ));
  if (avro) {
    out.write(
      'kice demo: starting the local Schema Registry beside it (first run downloads Apicurio Registry from Maven Central)…\n',
    );
    registryStart = sh([join(ROOT, 'test/infra/schema-registry.sh'), 'start']).then(lastLine);
    registryStart.catch(() => {}); // awaited below, after the broker
  }
  const address = lastLine(await sh([join(ROOT, 'test/infra/kafka.sh'), 'start']));
  out.write(`kice demo: broker at ${address}\n`);
  const registry = registryStart ? await registryStart : undefined;
  if (registry) out.write(`kice demo: Schema Registry at ${registry}\n`);

  const kafka = new kafkajs.Kafka({
    clientId: 'kice-demo',
    brokers: [address],
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topics = [
    { topic: TOPICS.orders, numPartitions: 6 },
    { topic: TOPICS.clicks, numPartitions: 6 },
    { topic: TOPICS.views, numPartitions: 3 },
    { topic: TOPICS.dlq, numPartitions: 1 },
    ...(registry ? [{ topic: TOPICS.payments, numPartitions: 3 }] : []),
  ];
  try {
    const existing = await admin.listTopics();
    const old = Object.values(TOPICS).filter((t) => existing.includes(t));
    if (old.length > 0) {
      await admin.deleteTopics({ topics: old });
      for (let i = 0; i < 100 && (await admin.listTopics()).some((t) => old.includes(t)); i++)
        await new Promise((r) => setTimeout(r, 200));
    }
    // Right after the old topics were deleted (slowest on a broker that just restarted),
    // the broker may still answer "does not host this topic-partition" for a new topic's
    // partitions: try again until every partition has a leader.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({ waitForLeaders: true, topics });
        const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        if (meta.topics.every((t) => t.partitions.every((p) => p.leader >= 0))) break;
        throw new Error('topics without a leader yet');
      } catch (e) {
        if (attempt >= 30) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await admin.disconnect();
  }

  const warehouse = stack?.warehouse ?? join(ROOT, '.state/demo/warehouse');
  if (!stack) await rm(warehouse, { recursive: true, force: true });
  const config = validateConfig({
    kafka: { brokers: [address], groupId: 'kice-demo' },
    ...(stack
      ? { catalog: stack.catalog, storage: stack.storage }
      : { catalog: { type: 'filesystem', warehouse } }),
    tables: [
      {
        topic: TOPICS.orders,
        table: 'demo.orders',
        partitionBy: ['day(ts)'],
        columns: { ts: 'timestamptz' },
      },
      {
        topic: TOPICS.clicks,
        table: 'demo.clicks',
        partitionBy: ['day(ts)', 'bucket(8, user_id)'],
        columns: { ts: 'timestamptz' },
      },
      { topicPattern: '^demo\\.views\\..*', table: 'demo.{topic}', columns: { ts: 'timestamptz' } },
      ...(registry
        ? [
            {
              topic: TOPICS.payments,
              table: 'demo.payments',
              format: 'avro',
              partitionBy: ['day(ts)'],
            },
          ]
        : []),
    ],
    ...(registry ? { schemaRegistry: { url: registry } } : {}),
    commit: { intervalMs: 5000 },
    deadLetter: { topic: TOPICS.dlq },
    log: { level: 'error' },
  });
  // The demo's config as a file, so `kice tables -c` works on its warehouse afterwards.
  // On a fresh clone .state/ does not exist yet: make the demo's folder first.
  const configFile = join(ROOT, '.state/demo/kice.yaml');
  await mkdir(dirname(configFile), { recursive: true });
  await writeFile(configFile, stringifyYaml(JSON.parse(JSON.stringify(config))));
  const engine: Engine = createEngine(config);
  let commits = 0;
  engine.on('commit', () => {
    commits++;
  });
  await engine.start();

  const paymentSchemaId = registry
    ? await registerPaymentSchema(registry, `${TOPICS.payments}-value`)
    : undefined;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const produced = { orders: 0, clicks: 0, views: 0, payments: 0, poison: 0 };
  let stopping = false;
  const started = Date.now();
  const tick = 100;
  const produce = async () => {
    while (!stopping) {
      const t0 = Date.now();
      const n = Math.max(1, Math.round((options.rate * tick) / 1000));
      const orders = [];
      const clicks = [];
      const views = [];
      const payments = [];
      for (let k = 0; k < n; k++) {
        const r = Math.random();
        if (r < 0.3)
          orders.push({
            key: String(produced.orders % 1000),
            value: JSON.stringify(order(produced.orders++)),
          });
        else if (r < 0.85)
          clicks.push({
            key: String(produced.clicks % 1000),
            value: JSON.stringify(click(produced.clicks++)),
          });
        else if (r < 0.95 || paymentSchemaId === undefined)
          views.push({ value: JSON.stringify(view(produced.views++)) });
        else
          payments.push({
            key: String(produced.payments % 1000),
            value: paymentRecord(produced.payments++, paymentSchemaId),
          });
      }
      if (Math.random() < 0.02) {
        clicks.push({ key: 'poison', value: '{"event_id": "broken", ' }); // invalid JSON → dead letter
        produced.poison++;
      }
      await producer.sendBatch({
        topicMessages: [
          { topic: TOPICS.orders, messages: orders },
          { topic: TOPICS.clicks, messages: clicks },
          { topic: TOPICS.views, messages: views },
          { topic: TOPICS.payments, messages: payments },
        ].filter((t) => t.messages.length > 0),
      });
      await new Promise((r) => setTimeout(r, Math.max(0, tick - (Date.now() - t0))));
    }
  };
  const producing = produce();

  const tty = Boolean(out.isTTY);
  const progress = setInterval(() => {
    const m = engine.metrics();
    const total =
      produced.orders + produced.clicks + produced.views + produced.payments + produced.poison;
    const secs = Math.round((Date.now() - started) / 1000);
    const line = `[${String(secs).padStart(3)}s] produced ${total}  consumed ${m.recordsConsumed}  committed ${m.rowsCommitted} rows  lag ${total - m.recordsConsumed}  commits ${commits}  files ${m.filesWritten}  dead letters ${m.deadLetters}`;
    if (tty) out.write(`\r${line}   `);
    else if (secs % 5 === 0) out.write(`${line}\n`);
  }, 1000);

  await new Promise<void>((resolveWait) => {
    const done = () => resolveWait();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (options.seconds > 0) setTimeout(done, options.seconds * 1000).unref();
    out.write(
      `kice demo: producing ~${options.rate} events/s into ${TOPICS.orders}, ${TOPICS.clicks}, ${TOPICS.views}${registry ? ` and ${TOPICS.payments} (Avro)` : ''}; ` +
        `${options.seconds > 0 ? `stopping after ${options.seconds}s or ` : ''}on Ctrl-C\n`,
    );
  });
  stopping = true;
  await producing;
  await producer.disconnect();
  clearInterval(progress);
  out.write('\nkice demo: draining: consuming what is left, flushing and committing…\n');
  // Let the engine catch up with the last produced events before stopping.
  const total =
    produced.orders + produced.clicks + produced.views + produced.payments + produced.poison;
  for (let i = 0; i < 300 && engine.metrics().recordsConsumed < total; i++)
    await new Promise((r) => setTimeout(r, 100));
  await engine.stop();

  const io = createFileIO(config.storage);
  const tables = await listTables(config.catalog, config.kafka.groupId, io);
  out.write(
    `\nTables in ${stack ? `the REST catalog ${stack.restUri} (warehouse ${warehouse})` : warehouse}:\n${formatTables(tables)}`,
  );
  const expected: Record<string, number> = {
    'demo.orders': produced.orders,
    'demo.clicks': produced.clicks,
    'demo.demo_views_web': produced.views,
    ...(registry ? { 'demo.payments': produced.payments } : {}),
  };
  let ok = true;
  for (const [name, n] of Object.entries(expected)) {
    const rows = tables.find((t) => t.table === name)?.rows ?? 0;
    const mark = rows === n ? 'ok' : 'MISMATCH';
    if (rows !== n) ok = false;
    out.write(`  ${name}: produced ${n}, table holds ${rows} → ${mark}\n`);
  }
  out.write(
    `  dead letters (invalid JSON on purpose): ${produced.poison} produced, ${engine.metrics().deadLetters} sent to ${TOPICS.dlq}\n`,
  );

  const catalog = createCatalog(config.catalog, io);
  for (const name of ['orders', 'clicks', ...(registry ? ['payments'] : [])]) {
    const t = await catalog.loadTable({ namespace: ['demo'], name });
    const plan = await planFiles(t);
    const first = plan.files[0];
    if (!first) continue;
    const schema = currentSchema(t.metadata);
    const rows = arrowTableToRows(schema, readParquet(await t.io.read(first.filePath))).slice(0, 2);
    out.write(`\nSample rows of demo.${name}:\n`);
    for (const r of rows) out.write(`  ${JSON.stringify(displayRow(schema, r))}\n`);
  }
  if (stack) {
    const orders = await catalog.loadTable({ namespace: ['demo'], name: 'orders' });
    const host = stack.endpoint.replace(/^https?:\/\//, '');
    out.write(`
Read the tables through the REST catalog (S3: ${stack.endpoint}, credentials test/test):
  PyIceberg: from pyiceberg.catalog import load_catalog
             cat = load_catalog('rest', type='rest', uri='${stack.restUri}', **{'s3.endpoint': '${stack.endpoint}',
                   's3.access-key-id': 'test', 's3.secret-access-key': 'test', 's3.region': 'us-east-1'})
             cat.load_table('demo.orders').scan().to_arrow()
  DuckDB:    INSTALL iceberg; LOAD iceberg; INSTALL httpfs; LOAD httpfs;
             CREATE SECRET (TYPE s3, KEY_ID 'test', SECRET 'test', REGION 'us-east-1', ENDPOINT '${host}', URL_STYLE 'path', USE_SSL false);
             SELECT shipping.country, count(*), sum(amount) FROM iceberg_scan('${orders.metadataLocation}') GROUP BY 1;
  kice:      pnpm kice tables -c ${configFile}
The S3 server and the REST catalog keep running; stop them with:
  ${stack.stopCommand}
`);
    return ok ? 0 : 1;
  }
  const ordersDir = join(warehouse, 'demo/orders');
  const hint = (
    await readFile(join(ordersDir, 'metadata/version-hint.text'), 'utf8').catch(() => '1')
  ).trim();
  out.write(`
Open the tables with any Iceberg reader:
  DuckDB:    INSTALL iceberg; LOAD iceberg;
             SELECT shipping.country, count(*), sum(amount) FROM iceberg_scan('${ordersDir}') GROUP BY 1;
  PyIceberg: from pyiceberg.table import StaticTable
             StaticTable.from_metadata('${ordersDir}/metadata/v${hint}.metadata.json').scan().to_arrow()
  kice:      pnpm kice tables -c ${configFile}
`);
  return ok ? 0 : 1;
}
