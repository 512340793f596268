/**
 * kice command line: `kice <command> [options]`.
 */
import { parseArgs } from 'node:util';
import { ConfigError, redactSecrets } from '@kice/core';
import { DEMO_STACKS, type DemoStackName, demoCommand } from './demo.ts';
import { queryCommand, UsageError } from './query.ts';
import { runCommand } from './run.ts';
import { tablesCommand } from './tables.ts';

export const USAGE = `usage: kice <command> [options]

commands:
  run -c <kice.yaml> [--once]   stream the configured topics into Iceberg tables
                                (--once: consume up to the end offsets seen at start,
                                commit, exit 0; progress on stderr)
  tables -c <kice.yaml> [--json] list tables: snapshots, rows, files, bytes, offsets
  query <table> (--url http://host:port [--token T] | -c <kice.yaml>)
        [--where "id > 5 AND kind IN ('a')"] [--select a,b.c] [--as-of <snapshot-id|ISO time>]
        [--limit N] [--format table|json|csv]
                                rows of a table: through a running kice's POST /query
                                (--url: hot and cold rows), or with -c read from the
                                catalog directly (cold only: committed snapshots)
  demo [--seconds N] [--rate N] [--stack local|s3-rest] [--avro|--no-avro]
                                local broker + generated events → a local warehouse
                                (s3-rest: S3 + an Iceberg REST catalog), live
                                progress, then results (N=0: until Ctrl-C); --avro
                                adds an Avro topic through a local Schema Registry
                                (started; by default only when one already runs)
  help                          this text
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run': {
        const { values } = parseArgs({
          args: rest,
          options: {
            config: { type: 'string', short: 'c' },
            once: { type: 'boolean', default: false },
          },
        });
        if (!values.config) return usageError('run needs -c <kice.yaml>');
        return await runCommand(values.config, { once: values.once ?? false });
      }
      case 'tables': {
        const { values } = parseArgs({
          args: rest,
          options: {
            config: { type: 'string', short: 'c' },
            json: { type: 'boolean', default: false },
          },
        });
        if (!values.config) return usageError('tables needs -c <kice.yaml>');
        return await tablesCommand(values.config, { json: values.json ?? false });
      }
      case 'query': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            config: { type: 'string', short: 'c' },
            url: { type: 'string' },
            token: { type: 'string' },
            where: { type: 'string' },
            select: { type: 'string' },
            'as-of': { type: 'string' },
            limit: { type: 'string' },
            format: { type: 'string' },
          },
        });
        if (positionals.length !== 1)
          return usageError(
            positionals.length === 0
              ? 'query needs a table name'
              : `query takes one table name, got ${positionals.length}: ${positionals.join(' ')}`,
          );
        try {
          return await queryCommand({
            table: positionals[0] as string,
            ...(values.config !== undefined ? { config: values.config } : {}),
            ...(values.url !== undefined ? { url: values.url } : {}),
            ...(values.token !== undefined ? { token: values.token } : {}),
            ...(values.where !== undefined ? { where: values.where } : {}),
            ...(values.select !== undefined ? { select: values.select } : {}),
            ...(values['as-of'] !== undefined ? { asOf: values['as-of'] } : {}),
            ...(values.limit !== undefined ? { limit: values.limit } : {}),
            ...(values.format !== undefined ? { format: values.format } : {}),
          });
        } catch (e) {
          if (e instanceof UsageError) return usageError(e.message);
          throw e;
        }
      }
      case 'demo': {
        const { values } = parseArgs({
          args: rest,
          options: {
            seconds: { type: 'string', default: '60' },
            rate: { type: 'string', default: '5000' },
            stack: { type: 'string', default: 'local' },
            avro: { type: 'boolean' },
            'no-avro': { type: 'boolean' },
          },
        });
        const stack = values.stack as DemoStackName;
        if (!DEMO_STACKS.includes(stack))
          return usageError(
            `demo --stack: unknown stack "${values.stack}" (one of: ${DEMO_STACKS.join(', ')})`,
          );
        return await demoCommand({
          seconds: Number(values.seconds),
          rate: Number(values.rate),
          stack,
          ...(values['no-avro'] ? { avro: false } : values.avro ? { avro: true } : {}),
        });
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        return usageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kice: ${e.message}\n`);
      return 2;
    }
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      return usageError((e as Error).message);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`kice: ${redactSecrets((e as Error).message)}\n`);
      return 2;
    }
    process.stderr.write(`kice: ${redactSecrets((e as Error).stack ?? String(e))}\n`);
    return 1;
  }
}

function usageError(msg: string): number {
  process.stderr.write(`kice: ${msg}\n\n${USAGE}`);
  return 2;
}
