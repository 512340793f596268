/**
 * Reusable SharedArrayBuffers for fetched record batches.
 *
 * Every raw fetch copies a partition's whole batches into shared memory for the pool's
 * parse task (response.ts wholeBatches). A fresh SharedArrayBuffer is new zero-filled
 * memory: the kernel maps it page by page as the copy first touches it (one fault per
 * 4 KiB), frees it again once the GC collects the buffer, and V8 counts every one against
 * its external-memory budget (more major collections). A slab given back after its parse
 * returned is taken again by a later fetch instead.
 *
 * Contract:
 * - `take(n)` returns a view of exactly n bytes at offset 0 of a slab of at least n bytes
 *   (sizes in steps of 1/4 of a power of two from 64 KiB, so a slab is at most 25% larger
 *   than what it holds); the bytes past what the caller writes are not meaningful.
 * - `give(view)` hands the slab back; the caller promises that nothing reads or writes it
 *   any more (for a fetch: its parse task has settled). Giving the same slab again while
 *   it is free is ignored; a view of a slab this pool did not make is ignored.
 * - At most `maxFreeBytes` of slabs are kept free; the others are left to the GC. Free
 *   slabs are memory the process keeps: a source caps them at half its fetch size
 *   (`max.bytes`, which the engine keeps to a quarter of the in-flight budget), so they
 *   add at most 1/8 of the budget, inside the memory model's margin per budgeted byte.
 */

const MIN_SLAB = 64 * 1024;

/** The slab size for n bytes: the next step of 1/4 of a power of two, at least 64 KiB. */
export function slabSize(n: number): number {
  if (n <= MIN_SLAB) return MIN_SLAB;
  const pow = 2 ** Math.floor(Math.log2(n));
  const step = pow / 4;
  return Math.ceil(n / step) * step;
}

export class SharedSlabs {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  /** Slabs this pool made, so a foreign buffer is never taken in. */
  private readonly made = new WeakSet<SharedArrayBuffer>();
  /** Slabs currently free (a second give of one is ignored). */
  private readonly idle = new WeakSet<SharedArrayBuffer>();
  private freeBytes = 0;
  /** Takes served by a free slab / by a new one (for tests and metrics). */
  reused = 0;
  created = 0;

  constructor(readonly maxFreeBytes: number) {}

  /** A view of n bytes of shared memory (see the module comment). */
  take(n: number): Uint8Array {
    const size = slabSize(n);
    const slab = this.free.get(size)?.pop();
    if (slab !== undefined) {
      this.idle.delete(slab);
      this.freeBytes -= size;
      this.reused++;
      return new Uint8Array(slab, 0, n);
    }
    const made = new SharedArrayBuffer(size);
    this.made.add(made);
    this.created++;
    return new Uint8Array(made, 0, n);
  }

  /** Hands a taken view's slab back once nothing uses it any more. */
  give(view: Uint8Array): void {
    const slab = view.buffer;
    if (!(slab instanceof SharedArrayBuffer) || !this.made.has(slab) || this.idle.has(slab)) return;
    const size = slab.byteLength;
    if (this.freeBytes + size > this.maxFreeBytes) return;
    let list = this.free.get(size);
    if (list === undefined) {
      list = [];
      this.free.set(size, list);
    }
    list.push(slab);
    this.idle.add(slab);
    this.freeBytes += size;
  }

  /** Bytes of slabs kept free now. */
  get freeByteCount(): number {
    return this.freeBytes;
  }
}
