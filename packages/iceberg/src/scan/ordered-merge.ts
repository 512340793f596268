/**
 * Runs up to `concurrency` async generators at once and yields their items in source order
 * (all of source 0, then all of source 1, …). Sources k .. k + concurrency - 1 run while
 * the consumer takes the items of source k; source k + concurrency starts once source k is
 * used up. Each running source runs ahead of the consumer by at most `ahead` items, so at
 * most concurrency × (ahead + 1) items are held at any time.
 * When the consumer stops early (break, return, a thrown error), running sources are
 * closed (their `finally` blocks run) and no new one starts. A source's error is thrown to
 * the consumer when the consumer reaches that source.
 */

class Queue<T> {
  private readonly items: T[] = [];
  private done = false;
  private error: { e: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly ahead: number) {}

  /** Resolves once the item is queued and there is room for more (or the merge closed). */
  async put(v: T, closed: () => boolean): Promise<void> {
    this.items.push(v);
    this.wake();
    while (this.items.length > this.ahead && !closed())
      await new Promise<void>((r) => {
        this.wakeProducer = r;
      });
  }

  end(): void {
    this.done = true;
    this.wake();
  }

  fail(e: unknown): void {
    this.error = { e };
    this.wake();
  }

  /** Unblocks a waiting producer (used when the merge closes). */
  release(): void {
    const p = this.wakeProducer;
    this.wakeProducer = undefined;
    p?.();
  }

  private wake(): void {
    const c = this.wakeConsumer;
    this.wakeConsumer = undefined;
    c?.();
  }

  async take(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.items.length > 0) {
        const v = this.items.shift() as T;
        this.release();
        return { value: v, done: false };
      }
      if (this.error) throw this.error.e;
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((r) => {
        this.wakeConsumer = r;
      });
    }
  }
}

export async function* orderedMerge<T>(
  sources: readonly (() => AsyncGenerator<T>)[],
  concurrency: number,
  ahead = 1,
): AsyncGenerator<T> {
  const queues: Queue<T>[] = [];
  let closed = false;
  let next = 0;
  const isClosed = () => closed;
  const start = (): void => {
    const k = next++;
    const make = sources[k];
    if (!make) return;
    const q = new Queue<T>(ahead);
    queues[k] = q;
    void (async () => {
      try {
        for await (const v of make()) {
          if (closed) return;
          await q.put(v, isClosed);
          if (closed) return;
        }
        q.end();
      } catch (e) {
        q.fail(e);
      }
    })();
  };
  while (next < Math.min(sources.length, Math.max(1, concurrency))) start();
  try {
    for (let k = 0; k < sources.length; k++) {
      const q = queues[k] as Queue<T>;
      for (;;) {
        const r = await q.take();
        if (r.done) break;
        yield r.value;
      }
      queues[k] = undefined as unknown as Queue<T>;
      if (next < sources.length) start();
    }
  } finally {
    closed = true;
    for (const q of queues) q?.release();
  }
}
