/**
 * The machine a result was measured on, and the commit it measured.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { REPO_ROOT } from './systems/common.ts';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly java: string;
  readonly kafkaBroker: string;
}

export interface Revision {
  readonly commit: string;
  /** True when the work tree had uncommitted changes. */
  readonly dirty: boolean;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .trim();
  } catch (e) {
    const err = e as { stderr?: Buffer };
    return err.stderr?.toString().trim() ?? 'unknown';
  }
}

/** Describes this machine (CPU model, cores, memory, Node, Java, broker). */
export function describeMachine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpuModel = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  // `java -version` prints to stderr.
  const java = run('bash', ['-c', 'java -version 2>&1 | head -1']) || 'not found';
  const pom = readFileSync(`${REPO_ROOT}/test/infra/kafka/pom.xml`, 'utf8');
  const kafka = /<kafka\.version>(.+)<\/kafka\.version>/.exec(pom)?.[1] ?? 'unknown';
  return {
    cpuModel,
    cores: availableParallelism(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: run('uname', ['-sr']),
    node: process.version,
    java,
    kafkaBroker: `Apache Kafka ${kafka} (KRaft, single node, test/infra/kafka.sh)`,
  };
}

/** The checked-out commit (short hash) and whether the tree is dirty. */
export function describeRevision(): Revision {
  const commit = run('git', ['rev-parse', '--short=10', 'HEAD']);
  const status = run('git', ['status', '--porcelain', '--untracked-files=no']);
  return { commit, dirty: status.length > 0 };
}
