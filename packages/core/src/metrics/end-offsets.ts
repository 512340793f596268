/**
 * End offsets (the next offset to be written, per partition) for lag, read from the broker
 * at most once per `maxAgeMs` and only when someone asks (a scrape, a `/tables` request):
 * an idle engine adds no broker load. One fetch at a time; a reader waits for a refresh at
 * most `waitMs`, then gets the last values known (stale rather than slow: a scrape must not
 * hang on a broker that is down, whose fetch keeps retrying in the background).
 */
export interface EndOffsetCacheOptions {
  /** Fetches end offsets of these topics, keyed "topic:partition". */
  readonly fetch: (topics: string[]) => Promise<Map<string, bigint>>;
  readonly maxAgeMs?: number;
  readonly waitMs?: number;
  readonly onError?: (e: unknown) => void;
}

export class EndOffsetCache {
  private values = new Map<string, bigint>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;
  private readonly maxAgeMs: number;
  private readonly waitMs: number;

  constructor(private readonly options: EndOffsetCacheOptions) {
    this.maxAgeMs = options.maxAgeMs ?? 5_000;
    this.waitMs = options.waitMs ?? 2_000;
  }

  /** End offsets of `topics`' partitions: fresh ones when a refresh is due and quick. */
  async get(topics: readonly string[]): Promise<ReadonlyMap<string, bigint>> {
    if (topics.length > 0 && Date.now() - this.fetchedAt >= this.maxAgeMs) {
      this.running ??= this.options
        .fetch([...topics])
        .then((v) => {
          this.values = v;
          this.fetchedAt = Date.now();
        })
        .catch((e) => this.options.onError?.(e))
        .finally(() => {
          this.running = undefined;
        });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.running,
        new Promise<void>((r) => {
          timer = setTimeout(r, this.waitMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    return this.values;
  }
}
