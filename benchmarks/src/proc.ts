/**
 * Runs a system under test as a child process and measures it from /proc: wall time, CPU
 * seconds (user + sys of the whole process tree) and peak resident memory.
 *
 * CPU: the child runs under a `bash` wrapper; after the child exits, the wrapper prints its
 * own cutime + cstime from /proc/self/stat (the CPU of every descendant it waited for, Node
 * worker threads included) on fd 3. While it runs, `sample()` sums utime + stime +
 * cutime + cstime over the live tree, which is what a run stopped from outside (Connect)
 * reports. Peak RSS: the largest sum of VmRSS over the tree seen by a 100 ms sampler, or
 * the largest VmHWM of a single process, whichever is larger.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;

/** Parsed fields of /proc/<pid>/stat that matter here. */
interface Stat {
  readonly ppid: number;
  readonly cpuTicks: number;
  readonly rssBytes: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces: the fields after it follow the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] = field 3 (state); field k is f[k - 3].
    const n = (k: number) => Number(f[k - 3]);
    return { ppid: n(4), cpuTicks: n(14) + n(15) + n(16) + n(17), rssBytes: n(24) * PAGE };
  } catch {
    return undefined;
  }
}

function readHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids of `root` and all its descendants, now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** What a measured process did. */
export interface Measured {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running measured process. */
export interface MeasuredProcess {
  readonly child: ChildProcess;
  /** CPU seconds of the live tree and seconds since spawn, now. */
  sample(): { cpuSeconds: number; wallSeconds: number; peakRssBytes: number };
  /** Resolves when the process exits. */
  readonly done: Promise<Measured>;
  /** Sends `signal` to the wrapped command's whole process group. */
  kill(signal?: NodeJS.Signals): void;
  /**
   * Sends `signal` to the wrapped command only (not the measuring wrapper), so that the
   * wrapper reports the command's exit status and CPU as after a normal exit.
   */
  signal(signal: NodeJS.Signals): void;
}

// Fields 16 and 17 of /proc/<pid>/stat: cutime, cstime (comm is "(bash)": no spaces).
const WRAPPER =
  '"$@" 3>&-; rc=$?; read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ cu cs _ < /proc/$$/stat; ' +
  'echo "cpu $cu $cs" >&3; exit $rc';

/** Spawns `command args…` measured; stdout/stderr are kept (the last 1 MiB of each). */
export function spawnMeasured(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onStderr?: (s: string) => void } = {},
): MeasuredProcess {
  const t0 = performance.now();
  const child = spawn('bash', ['-c', WRAPPER, 'bash', command, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const root = child.pid as number;
  let stdout = '';
  let stderr = '';
  let fd3 = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-1 << 20);
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-1 << 20);
    options.onStderr?.(d.toString());
  });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    fd3 += d.toString();
  });
  let peakRss = 0;
  let lastCpuTicks = 0;
  const sample = () => {
    let rss = 0;
    let cpu = 0;
    for (const pid of processTree(root)) {
      const st = readStat(pid);
      if (!st) continue;
      rss += st.rssBytes;
      cpu += st.cpuTicks;
      peakRss = Math.max(peakRss, readHwm(pid));
    }
    peakRss = Math.max(peakRss, rss);
    lastCpuTicks = Math.max(lastCpuTicks, cpu);
    return {
      cpuSeconds: lastCpuTicks / CLK_TCK,
      wallSeconds: (performance.now() - t0) / 1000,
      peakRssBytes: peakRss,
    };
  };
  const timer = setInterval(sample, 100);
  const done = new Promise<Measured>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      const wallSeconds = (performance.now() - t0) / 1000;
      const m = /cpu (\d+) (\d+)/.exec(fd3);
      const cpuSeconds = m ? (Number(m[1]) + Number(m[2])) / CLK_TCK : lastCpuTicks / CLK_TCK; // killed wrapper: the last sample
      resolve({
        code,
        signal,
        wallSeconds,
        cpuSeconds,
        peakRssBytes: peakRss,
        stdout,
        stderr,
      });
    });
  });
  return {
    child,
    sample,
    done,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      try {
        process.kill(-root, signal);
      } catch {}
    },
    signal(signal: NodeJS.Signals) {
      for (const pid of processTree(root)) {
        if (readStat(pid)?.ppid !== root) continue;
        try {
          process.kill(pid, signal);
        } catch {}
      }
    },
  };
}
