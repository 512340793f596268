/**
 * The multi-process fault loop, shared by the chaos integration test and `pnpm chaos`.
 *
 * Three `kice run` daemons (slots 0-2) consume one topic (6 partitions by default) into
 * one table as one consumer group while a producer keeps writing `richRecord(id)` events
 * with ids 0, 1, 2, …. Slot 2 starts late (the first fault: a late joiner). Then a seeded
 * PRNG picks each fault and its target among the running members:
 *   kill9   SIGKILL, then a restart after 0-3 s
 *   term    SIGTERM (graceful: flush, commit, leave); the process must exit 0 within
 *           TERM_BOUND_MS; restarted at once or left down for a later `join`
 *   zombie  SIGSTOP until the session timeout has passed and another member has committed
 *           since, then SIGCONT: its buffered data is now older than the table's offsets, so
 *           a late commit of it must be refused
 *   join    a member started in an empty slot (a late joiner)
 * After each fault the loop waits for some member to commit again (progress under faults;
 * a wait longer than PROGRESS_MS is recorded as a stall). At the end the producer stops,
 * every slot runs, the loop waits until the table records the topic's end offsets, stops
 * every member with SIGTERM, and checks: every produced id is in the table exactly once
 * with every column equal (PyIceberg, per-row hashes), the recorded offsets equal the end
 * offsets, and no process exited other than by the loop's own signals or logged a fatal
 * error. The seed fixes the sequence of faults, targets and delays; the interleaving with
 * the daemons' own timing is not reproducible.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Exit,
  type KiceProcess,
  type LogLine,
  latestMetadata,
  recordedOffsets,
  spawnKice,
  writeConfig,
} from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  idRange,
  produce,
  RICH_COLUMNS,
  richExpected,
  richRecord,
} from '../support/produce.ts';
import { checkRows, type RowCheck } from '../support/row-hash.ts';

/** Log messages the loop relies on (the engine's wording). */
export const MSG = {
  committed: 'committed',
  refused: 'commit refused by offset continuity; re-seeking',
  assigned: 'partition assigned',
  revoked: 'partitions revoked',
  started: 'kice engine started',
  fatal: 'fatal error',
} as const;

export type FaultKind = 'kill9' | 'term' | 'zombie' | 'join';

/** One fault as it happened. */
export interface FaultRecord {
  readonly n: number;
  readonly kind: FaultKind;
  readonly slot: number;
  readonly pid: number;
  /** Milliseconds since the loop started. */
  readonly atMs: number;
  /** For `term`: exit code and ms to exit; for `zombie`: whether its late commit was refused. */
  readonly detail?: Record<string, unknown>;
}

/** A process that ended in a way the loop did not cause, or logged a fatal error. */
export interface Anomaly {
  readonly slot: number;
  readonly pid: number;
  readonly what: string;
  /** The relevant log lines / stderr tail. */
  readonly evidence: string[];
}

export interface ChaosOptions {
  readonly brokers: readonly string[];
  /** Folder for the config, the warehouse and the members' logs. */
  readonly workDir: string;
  readonly seed: number;
  /** Stop after this many faults… */
  readonly faults?: number;
  /** …or after this many seconds of faults, whichever comes first. */
  readonly seconds?: number;
  readonly partitions?: number;
  /** Events per second of the background producer (default 2,000). */
  readonly rate?: number;
  readonly sessionTimeoutMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly seed: number;
  readonly topic: string;
  readonly group: string;
  readonly table: string;
  readonly faults: FaultRecord[];
  readonly faultCounts: Record<FaultKind, number>;
  readonly produced: number;
  /** Sum of the topic's end offsets (must equal `produced`: the producer wrote each id once). */
  readonly topicRecords: number;
  readonly rows: RowCheck;
  readonly recordedOffsets: Record<string, string> | undefined;
  readonly endOffsets: Record<string, string>;
  /** Commits refused by the continuity check, over every member's log. */
  readonly refusedCommits: number;
  /** Zombie faults after whose SIGCONT the zombie logged a refused commit. */
  readonly zombieRefusals: number;
  readonly commits: number;
  readonly processes: number;
  readonly stalls: { afterFault: number; waitedMs: number }[];
  readonly anomalies: Anomaly[];
  /** Milliseconds: the fault phase, and the whole run including the checks. */
  readonly faultPhaseMs: number;
  readonly durationMs: number;
  readonly logDir: string;
}

const TERM_BOUND_MS = 60_000;
const PROGRESS_MS = 60_000;
const DRAIN_MS = 180_000;
const MEMBERS = 3;

/** mulberry32: a small seeded PRNG; `next()` in [0, 1). */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo)) };
}

/** A random 31-bit seed. */
export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0) & 0x7fffffff;
}

const sleep = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));

/** Waits until `cond()` holds (checked every `everyMs`); false after `timeoutMs`. */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

/** One spawned process and what the loop did to it. */
interface Member {
  readonly slot: number;
  readonly proc: KiceProcess;
  /** The signal the loop sent last (an exit by that signal, or exit 0 after SIGTERM, is expected). */
  sent: 'SIGKILL' | 'SIGTERM' | undefined;
  stopped: boolean;
}

function isFatal(l: LogLine): boolean {
  return (l.level ?? 0) >= 60 || l.msg === MSG.fatal;
}

/** The partitions (`topic:partition`) a member holds according to its log. */
function owned(p: KiceProcess): Set<string> {
  const out = new Set<string>();
  for (const l of p.lines) {
    if (l.msg === MSG.assigned && typeof l.partition === 'string') out.add(l.partition);
    if (l.msg === MSG.revoked && Array.isArray(l.partitions))
      for (const k of l.partitions) out.delete(String(k));
  }
  return out;
}

function brief(l: LogLine): string {
  const { msg, level, err, reason, partition, partitions, table } = l as Record<string, unknown>;
  return JSON.stringify({ level, msg, err, reason, partition, partitions, table });
}

/** Runs the fault loop and its checks (see the module comment). Never throws on a failed check. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const say = opts.log ?? (() => {});
  const rnd = prng(opts.seed);
  const partitions = opts.partitions ?? 6;
  const sessionTimeoutMs = opts.sessionTimeoutMs ?? 6000;
  const maxFaults = opts.faults ?? (opts.seconds === undefined ? 200 : Number.POSITIVE_INFINITY);
  const maxMs = (opts.seconds ?? Number.POSITIVE_INFINITY) * 1000;
  const rate = opts.rate ?? 2000;
  const brokers = [...opts.brokers];
  const run = randomBytes(4).toString('hex');
  const topic = `kice-chaos-${run}`;
  const group = `kice-chaos-${run}`;
  const table = 'chaos.events';
  const warehouse = join(opts.workDir, 'warehouse');
  const logDir = join(opts.workDir, 'logs');
  await mkdir(logDir, { recursive: true });

  await createTopic(brokers, topic, partitions);
  const configPath = await writeConfig(opts.workDir, {
    kafka: {
      brokers,
      groupId: group,
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 3),
    },
    catalog: { type: 'filesystem', warehouse },
    // RICH_COLUMNS declares `items[].unit` double: a member's first commit may hold only
    // partitions where it is a whole number (see produce.ts).
    tables: [{ topic, table, columns: RICH_COLUMNS }],
    commit: { intervalMs: 1000 },
    deadLetter: { topic: `${group}-dlq` },
    workers: { threads: 1 },
    memory: { maxInFlightBytes: 32 * 1024 * 1024 },
  });

  // A backlog first (the first batches see every shape of event), then a steady producer.
  const initial = await produce({
    brokers,
    topic,
    partitions,
    first: 0,
    count: 20_000,
    record: richRecord,
  });
  let stopProducing = false;
  const batch = Math.max(1, Math.round(rate / 4));
  const background = produce({
    brokers,
    topic,
    partitions,
    first: initial,
    count: 1_000_000_000,
    record: richRecord,
    batchSize: batch,
    inFlight: 1,
    delayMs: 250,
    stop: () => stopProducing,
  });

  const all: Member[] = [];
  const slots: (Member | undefined)[] = new Array(MEMBERS).fill(undefined);
  const anomalies: Anomaly[] = [];
  const spawnSlot = (slot: number): Member => {
    const m: Member = { slot, proc: spawnKice(configPath), sent: undefined, stopped: false };
    all.push(m);
    slots[slot] = m;
    void m.proc.exited.then((e) => {
      if (slots[slot] === m) slots[slot] = undefined;
      if (!expectedExit(m, e)) {
        say(
          `ANOMALY: slot ${slot} pid ${m.proc.pid} exited by itself (${e.code ?? e.signal}): ${m.proc.stderr.slice(-1500)}`,
        );
        anomalies.push({
          slot,
          pid: m.proc.pid,
          what: `exited by itself (${e.code ?? e.signal}) after ${e.ms} ms`,
          evidence: [
            ...m.proc.lines.filter((l) => (l.level ?? 0) >= 50).map(brief),
            ...m.proc.lines.slice(-5).map(brief),
            m.proc.stderr.slice(-4000),
          ],
        });
      }
    });
    return m;
  };
  const commitsSoFar = (): number =>
    all.reduce((n, m) => n + m.proc.withMsg(MSG.committed).length, 0);

  const faults: FaultRecord[] = [];
  const stalls: { afterFault: number; waitedMs: number }[] = [];
  let zombieRefusals = 0;
  const record = (kind: FaultKind, m: Member, detail?: Record<string, unknown>): void => {
    const f: FaultRecord = {
      n: faults.length + 1,
      kind,
      slot: m.slot,
      pid: m.proc.pid,
      atMs: Date.now() - t0,
      ...(detail ? { detail } : {}),
    };
    faults.push(f);
    say(
      `fault ${f.n}: ${kind} slot ${m.slot} (pid ${f.pid})${detail ? ` ${JSON.stringify(detail)}` : ''}`,
    );
  };

  let recorded: Record<string, string> | undefined;
  const readRecorded = async (): Promise<Record<string, string> | undefined> => {
    try {
      return (await recordedOffsets(await latestMetadata(warehouse, table), group))[topic];
    } catch {
      return undefined;
    }
  };

  spawnSlot(0);
  spawnSlot(1);
  const firstCommit = await until(() => commitsSoFar() > 0, PROGRESS_MS);
  if (!firstCommit) stalls.push({ afterFault: 0, waitedMs: PROGRESS_MS });
  const faultStart = Date.now();

  // The first faults: the late joiner, then one of each other kind in a seeded order.
  const opening: FaultKind[] = ['kill9', 'term', 'zombie'];
  for (let i = opening.length - 1; i > 0; i--) {
    const j = rnd.int(0, i + 1);
    [opening[i], opening[j]] = [opening[j] as FaultKind, opening[i] as FaultKind];
  }
  opening.unshift('join');

  const running = (): Member[] =>
    slots.filter((m): m is Member => m !== undefined && !m.stopped && !m.proc.done);
  const pickKind = (): FaultKind => {
    const next = opening.shift();
    if (next) return next;
    const free = slots.some((m) => m === undefined);
    const live = running().length;
    if (live === 0) return 'join';
    const r = rnd.next();
    if (free && r < 0.3) return 'join';
    if (live >= 2 && r > 0.8) return 'zombie';
    return r < 0.6 ? 'kill9' : 'term';
  };

  while (faults.length < maxFaults && Date.now() - faultStart < maxMs) {
    const kind = pickKind();
    const before = commitsSoFar();
    if (kind === 'join') {
      const free = slots.findIndex((m) => m === undefined);
      if (free < 0) continue;
      record('join', spawnSlot(free));
    } else {
      // SIGTERM and SIGSTOP go to members that are up (a process signalled before it
      // installs its handlers just dies of the signal); kill -9 to any.
      const live = running().filter(
        (m) => kind === 'kill9' || m.proc.withMsg(MSG.started).length > 0,
      );
      const target = live[rnd.int(0, live.length)];
      // No member to hit yet (or, for a zombie, no other member to take over): try the same
      // kind again shortly, a member is starting.
      const retry = async (): Promise<void> => {
        opening.unshift(kind);
        await sleep(200);
      };
      if (!target || (kind === 'zombie' && live.length < 2)) {
        await retry();
        continue;
      }
      if (kind === 'kill9') {
        target.sent = 'SIGKILL';
        await target.proc.kill9();
        record('kill9', target);
        await sleep(rnd.int(0, 3000));
        spawnSlot(target.slot);
      } else if (kind === 'term') {
        target.sent = 'SIGTERM';
        const termAt = Date.now();
        const exit = await Promise.race([target.proc.terminate(), sleep(TERM_BOUND_MS)]);
        if (!exit) {
          anomalies.push({
            slot: target.slot,
            pid: target.proc.pid,
            what: `did not exit within ${TERM_BOUND_MS} ms of SIGTERM`,
            evidence: target.proc.lines.slice(-10).map(brief),
          });
          target.sent = 'SIGKILL';
          await target.proc.kill9();
        }
        record(
          'term',
          target,
          exit ? { code: exit.code, ms: Date.now() - termAt } : { code: 'hung' },
        );
        if (rnd.next() < 0.5) spawnSlot(target.slot); // else a later `join` restarts it
      } else {
        const stoppedAt = Date.now();
        try {
          process.kill(target.proc.pid, 'SIGSTOP');
        } catch {
          continue; // it exited in the meantime (recorded as an anomaly by its exit handler)
        }
        target.stopped = true;
        const seenBefore = target.proc.withMsg(MSG.refused).length;
        // Asleep past the session timeout, until another member has taken over one of its
        // partitions and the table's offset for it has moved on: its buffered data for that
        // partition now starts behind the table, so committing it must be refused.
        const mine = owned(target.proc);
        const at = (await readRecorded()) ?? {};
        const takenOver = async (): Promise<boolean> => {
          if (Date.now() - stoppedAt <= sessionTimeoutMs) return false;
          const now = (await readRecorded()) ?? {};
          return [...mine].some((key) => {
            const p = key.slice(key.lastIndexOf(':') + 1);
            return (
              BigInt(now[p] ?? '0') > BigInt(at[p] ?? '0') &&
              all.some(
                (m) =>
                  m !== target &&
                  m.proc.lines.some(
                    (l) =>
                      l.msg === MSG.assigned && l.partition === key && (l.time ?? 0) > stoppedAt,
                  ),
              )
            );
          });
        };
        const tookOver = await until(takenOver, PROGRESS_MS, 500);
        const asleepMs = Date.now() - stoppedAt;
        process.kill(target.proc.pid, 'SIGCONT');
        const wokeAt = Date.now();
        target.stopped = false;
        // Its reaction: a refused late commit, or a rejoin and a commit without one.
        const after = (msg: string) =>
          target.proc.lines.some((l) => l.msg === msg && (l.time ?? 0) >= wokeAt);
        await until(
          () =>
            target.proc.withMsg(MSG.refused).length > seenBefore ||
            target.proc.done ||
            (after(MSG.assigned) && after(MSG.committed)),
          15_000,
        );
        const refused = target.proc.withMsg(MSG.refused).length > seenBefore;
        if (refused) zombieRefusals++;
        record('zombie', target, { asleepMs, tookOver, refused });
      }
    }
    // Progress: some member commits again before the next fault.
    const waitStart = Date.now();
    const progressed = await until(() => commitsSoFar() > before, PROGRESS_MS);
    if (!progressed) stalls.push({ afterFault: faults.length, waitedMs: Date.now() - waitStart });
    await sleep(rnd.int(0, 1000));
  }
  const faultPhaseMs = Date.now() - faultStart;

  // Drain: stop producing, every slot running, wait for the table to hold the end offsets.
  stopProducing = true;
  const produced = initial + (await background);
  for (let s = 0; s < MEMBERS; s++) if (!slots[s]) spawnSlot(s);
  const ends = await endOffsets(brokers, topic);
  const topicRecords = Object.values(ends).reduce((n, v) => n + Number(v), 0);
  say(`faults done (${faults.length}); draining ${produced} produced events`);
  const drained = await until(
    async () => {
      recorded = await readRecorded();
      return JSON.stringify(recorded) === JSON.stringify(ends);
    },
    DRAIN_MS,
    500,
  );
  if (!drained) stalls.push({ afterFault: faults.length + 1, waitedMs: DRAIN_MS });

  // Stop every member gracefully; each must exit 0 within the bound. A member the drain
  // spawned may still be starting (the drain can end at once): a process signalled before it
  // installs its handlers just dies of the signal, so wait for it to have started first (a
  // member that never starts shows up as an exit or as a missed bound below).
  await Promise.all(
    running().map(async (m) => {
      await m.proc
        .waitForNth((l) => l.msg === MSG.started, 1, TERM_BOUND_MS * 2)
        .catch(() => undefined);
      m.sent = 'SIGTERM';
      const exit = await Promise.race([m.proc.terminate(), sleep(TERM_BOUND_MS)]);
      if (!exit) {
        anomalies.push({
          slot: m.slot,
          pid: m.proc.pid,
          what: `did not exit within ${TERM_BOUND_MS} ms of the final SIGTERM`,
          evidence: m.proc.lines.slice(-10).map(brief),
        });
        m.sent = 'SIGKILL';
        await m.proc.kill9();
      }
    }),
  );
  await Promise.all(all.map((m) => m.proc.exited));
  // Settle the exit handlers (anomalies are pushed in a .then of `exited`).
  await sleep(0);

  for (const m of all) {
    const fatal = m.proc.lines.filter(isFatal);
    if (fatal.length > 0 || /fatal error/i.test(m.proc.stderr)) {
      anomalies.push({
        slot: m.slot,
        pid: m.proc.pid,
        what: 'logged a fatal error',
        evidence: [...fatal.map(brief), m.proc.stderr.slice(-4000)],
      });
    }
    await writeFile(
      join(logDir, `slot${m.slot}-pid${m.proc.pid}.log`),
      `${m.proc.lines.map((l) => JSON.stringify(l)).join('\n')}\n--- stderr\n${m.proc.stderr}`,
    );
  }

  recorded = await readRecorded();
  say(`checking ${produced} rows with PyIceberg`);
  const rows = await checkRows(
    await latestMetadata(warehouse, table),
    'id',
    idRange(0, produced),
    richExpected,
  );
  const faultCounts: Record<FaultKind, number> = { kill9: 0, term: 0, zombie: 0, join: 0 };
  for (const f of faults) faultCounts[f.kind]++;
  return {
    seed: opts.seed,
    topic,
    group,
    table,
    faults,
    faultCounts,
    produced,
    topicRecords,
    rows,
    recordedOffsets: recorded,
    endOffsets: ends,
    refusedCommits: all.reduce((n, m) => n + m.proc.withMsg(MSG.refused).length, 0),
    zombieRefusals,
    commits: commitsSoFar(),
    processes: all.length,
    stalls,
    anomalies,
    faultPhaseMs,
    durationMs: Date.now() - t0,
    logDir,
  };
}

/** Whether `e` is how `m` was meant to end: by the signal the loop sent, or exit 0 after SIGTERM. */
function expectedExit(m: Member, e: Exit): boolean {
  if (m.sent === 'SIGKILL') return e.signal === 'SIGKILL';
  if (m.sent === 'SIGTERM') return e.code === 0;
  return false;
}

/** The one-paragraph summary both the test and `pnpm chaos` print. */
export function summarize(r: ChaosResult): string {
  const c = r.faultCounts;
  return [
    `chaos: seed ${r.seed}: ${r.faults.length} faults (kill9 ${c.kill9}, term ${c.term}, zombie ${c.zombie}, join ${c.join}) survived in ${Math.round(r.faultPhaseMs / 1000)} s`,
    `chaos: ${r.produced} produced, ${r.rows.rows} rows in the table, ${r.rows.matching} checked equal in every column; lost ${r.rows.missingCount}, duplicated ${r.rows.duplicatedCount}, differing ${r.rows.differingCount}, unexpected ${r.rows.unexpectedCount}`,
    `chaos: ${r.commits} commits, ${r.refusedCommits} refused by the continuity check (${r.zombieRefusals} by a woken zombie), ${r.processes} processes, ${r.stalls.length} stalls, ${r.anomalies.length} anomalies; offsets ${JSON.stringify(r.recordedOffsets) === JSON.stringify(r.endOffsets) ? 'equal the end offsets' : 'DIFFER from the end offsets'}`,
  ].join('\n');
}

/** The checks a run must pass, as failure messages (empty: it passed). */
export function failures(r: ChaosResult): string[] {
  const out: string[] = [];
  if (r.topicRecords !== r.produced)
    out.push(`the topic holds ${r.topicRecords} records, ${r.produced} were produced`);
  const rows = r.rows;
  if (rows.missingCount > 0) out.push(`lost ${rows.missingCount} rows, e.g. ids ${rows.missing}`);
  if (rows.duplicatedCount > 0)
    out.push(`duplicated ${rows.duplicatedCount} ids, e.g. ${rows.duplicated}`);
  if (rows.differingCount > 0)
    out.push(`${rows.differingCount} rows differ in some column, e.g. ids ${rows.differing}`);
  if (rows.unexpectedCount > 0)
    out.push(`${rows.unexpectedCount} ids never produced, e.g. ${rows.unexpected}`);
  if (JSON.stringify(r.recordedOffsets) !== JSON.stringify(r.endOffsets))
    out.push(
      `recorded offsets ${JSON.stringify(r.recordedOffsets)} ≠ end offsets ${JSON.stringify(r.endOffsets)}`,
    );
  if (r.refusedCommits === 0) out.push('no late commit was refused');
  for (const s of r.stalls)
    out.push(`no progress for ${s.waitedMs} ms after fault ${s.afterFault}`);
  for (const a of r.anomalies) out.push(`slot ${a.slot} pid ${a.pid} ${a.what}`);
  return out;
}
