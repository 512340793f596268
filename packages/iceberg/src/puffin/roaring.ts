/**
 * 32-bit Roaring bitmaps in the portable serialization, the per-bucket layer of a
 * deletion vector (./deletion-vector.ts).
 *
 * Spec: https://github.com/RoaringBitmap/RoaringFormatSpec#general-layout
 * - All words little-endian. A cookie, then per container its 16-bit key and
 *   cardinality - 1, then (see below) 32-bit container offsets, then the containers.
 * - Cookie 12346 (no run containers): followed by a 32-bit container count; offsets
 *   follow the descriptive header. Cookie 12347 in the low 16 bits: the high 16 bits are
 *   count - 1, then ceil(count / 8) bytes flag run containers (bit i of the stream = the
 *   i-th container); offsets are present only when count >= 4. An empty bitmap is cookie
 *   12346 with count 0 (8 bytes).
 * - Containers hold the low 16 bits of values sharing high 16 bits (the key): an array
 *   container (cardinality <= 4096) is its sorted uint16 values; a bitmap container
 *   (cardinality > 4096) is 8192 bytes, value v at bit v % 64 of 64-bit word v / 64, that
 *   is bit v % 8 of byte v / 8; a run container is a uint16 run count, then per run its
 *   start and length - 1.
 *
 * Reading accepts all three container kinds and checks what `has` and iteration rely on
 * (keys and array values strictly ascending, runs ordered and within 16 bits, bitmap and
 * run cardinalities equal to the header's); the offset header is skipped, not checked, as
 * Java's RoaringBitmap does. Writing (`fromSorted`) chooses each container the way Java's
 * RoaringBitmap leaves it after adding the values one by one and then `runOptimize()`:
 * an array container up to 4096 values, else a bitmap; then a run container instead when
 * its serialized size (2 + 4 × runs) is strictly smaller (than 2 × cardinality for an
 * array, 8192 for a bitmap). That is what Iceberg Java's DV writer serializes.
 */
import { IcebergError } from '../errors.ts';

export const SERIAL_COOKIE_NO_RUNCONTAINER = 12346;
export const SERIAL_COOKIE = 12347;
/** With run containers, offsets are written only from this many containers on. */
const NO_OFFSET_THRESHOLD = 4;
/** Largest cardinality of an array container. */
export const ARRAY_CONTAINER_MAX = 4096;
const BITMAP_CONTAINER_BYTES = 8192;

export type Container =
  | {
      readonly kind: 'array';
      readonly key: number;
      readonly cardinality: number;
      /** Sorted low 16 bits. */
      readonly values: Uint16Array;
    }
  | {
      readonly kind: 'bitmap';
      readonly key: number;
      readonly cardinality: number;
      /** 8192 bytes; value v is bit v % 8 of byte v / 8. */
      readonly bits: Uint8Array;
    }
  | {
      readonly kind: 'run';
      readonly key: number;
      readonly cardinality: number;
      /** Pairs (start, length - 1), ordered and disjoint. */
      readonly runs: Uint16Array;
    };

function containerBytes(c: Container): number {
  switch (c.kind) {
    case 'array':
      return 2 * c.cardinality;
    case 'bitmap':
      return BITMAP_CONTAINER_BYTES;
    case 'run':
      return 2 + 2 * c.runs.length;
  }
}

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + (POPCOUNT[i >> 1] as number);

/** A set of uint32 values: containers ordered by key. */
export class Roaring32 {
  static readonly EMPTY = new Roaring32([]);

  readonly cardinality: number;

  constructor(readonly containers: readonly Container[]) {
    let n = 0;
    for (const c of containers) n += c.cardinality;
    this.cardinality = n;
  }

  /**
   * The bitmap of `values[from..to)`, which must be strictly ascending uint32 values (not
   * checked: callers sort), with Java's choice of containers (module comment).
   */
  static fromSorted(values: ArrayLike<number>, from = 0, to = values.length): Roaring32 {
    const containers: Container[] = [];
    let i = from;
    while (i < to) {
      const key = (values[i] as number) >>> 16;
      let j = i + 1;
      let runs = 1;
      let prev = values[i] as number;
      while (j < to) {
        const v = values[j] as number;
        if (v >>> 16 !== key) break;
        if (v !== prev + 1) runs++;
        prev = v;
        j++;
      }
      containers.push(buildContainer(key, values, i, j, runs));
      i = j;
    }
    return new Roaring32(containers);
  }

  has(value: number): boolean {
    const key = value >>> 16;
    const low = value & 0xffff;
    const cs = this.containers;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = cs[mid] as Container;
      if (c.key < key) lo = mid + 1;
      else if (c.key > key) hi = mid - 1;
      else return containerHas(c, low);
    }
    return false;
  }

  /** Calls `fn` with every value, ascending. */
  forEach(fn: (value: number) => void): void {
    for (const c of this.containers) {
      const base = c.key * 0x10000;
      switch (c.kind) {
        case 'array':
          for (const v of c.values) fn(base + v);
          break;
        case 'bitmap':
          for (let b = 0; b < BITMAP_CONTAINER_BYTES; b++) {
            let byte = c.bits[b] as number;
            while (byte !== 0) {
              const bit = 31 - Math.clz32(byte & -byte);
              fn(base + b * 8 + bit);
              byte &= byte - 1;
            }
          }
          break;
        case 'run':
          for (let r = 0; r < c.runs.length; r += 2) {
            const start = base + (c.runs[r] as number);
            const end = start + (c.runs[r + 1] as number);
            for (let v = start; v <= end; v++) fn(v);
          }
          break;
      }
    }
  }

  /** Serialized size in bytes. */
  get serializedSize(): number {
    const n = this.containers.length;
    let size = this.hasRun()
      ? 4 + ((n + 7) >> 3) + 4 * n + (n >= NO_OFFSET_THRESHOLD ? 4 * n : 0)
      : 8 + 8 * n;
    for (const c of this.containers) size += containerBytes(c);
    return size;
  }

  /** Writes the portable serialization at `at` (room checked by the caller); returns the end. */
  write(out: Uint8Array, at: number): number {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const cs = this.containers;
    const n = cs.length;
    const hasRun = this.hasRun();
    const start = at;
    let p = at;
    if (hasRun) {
      view.setUint32(p, (SERIAL_COOKIE | ((n - 1) << 16)) >>> 0, true);
      p += 4;
      for (let i = 0; i < n; i += 8) {
        let flags = 0;
        for (let j = 0; j < 8 && i + j < n; j++)
          if ((cs[i + j] as Container).kind === 'run') flags |= 1 << j;
        out[p++] = flags;
      }
    } else {
      view.setUint32(p, SERIAL_COOKIE_NO_RUNCONTAINER, true);
      view.setUint32(p + 4, n, true);
      p += 8;
    }
    for (const c of cs) {
      view.setUint16(p, c.key, true);
      view.setUint16(p + 2, c.cardinality - 1, true);
      p += 4;
    }
    if (!hasRun || n >= NO_OFFSET_THRESHOLD) {
      let offset = p - start + 4 * n;
      for (const c of cs) {
        view.setUint32(p, offset, true);
        p += 4;
        offset += containerBytes(c);
      }
    }
    for (const c of cs) {
      switch (c.kind) {
        case 'array':
          for (const v of c.values) {
            view.setUint16(p, v, true);
            p += 2;
          }
          break;
        case 'bitmap':
          out.set(c.bits, p);
          p += BITMAP_CONTAINER_BYTES;
          break;
        case 'run':
          view.setUint16(p, c.runs.length / 2, true);
          p += 2;
          for (const v of c.runs) {
            view.setUint16(p, v, true);
            p += 2;
          }
          break;
      }
    }
    return p;
  }

  /**
   * Reads one serialized bitmap from `bytes[at..end)`; returns it and where it ends.
   * Throws IcebergError('INVALID_METADATA') naming `what` and the offset of the problem.
   */
  static read(
    bytes: Uint8Array,
    at: number,
    end: number,
    what: string,
  ): { bitmap: Roaring32; end: number } {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = at;
    const fail = (msg: string): never => {
      throw new IcebergError('INVALID_METADATA', `${what}: ${msg} (at byte ${p})`, {
        context: { offset: p },
      });
    };
    const need = (n: number, part: string) => {
      if (p + n > end) fail(`truncated ${part}: needs ${n} bytes, ${end - p} left`);
    };
    need(4, 'Roaring cookie');
    const cookie = view.getUint32(p, true);
    let count: number;
    let runFlags: Uint8Array | undefined;
    if ((cookie & 0xffff) === SERIAL_COOKIE) {
      count = (cookie >>> 16) + 1;
      p += 4;
      need((count + 7) >> 3, 'run container flags');
      runFlags = bytes.subarray(p, p + ((count + 7) >> 3));
      p += runFlags.length;
    } else if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
      p += 4;
      need(4, 'container count');
      count = view.getUint32(p, true);
      if (count > 0x10000) fail(`${count} containers (at most 65536)`);
      p += 4;
    } else {
      return fail(`not a Roaring bitmap: cookie 0x${cookie.toString(16).padStart(8, '0')}`);
    }
    need(4 * count, 'descriptive header');
    const keys = new Uint32Array(count);
    const cards = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      keys[i] = view.getUint16(p, true);
      cards[i] = view.getUint16(p + 2, true) + 1;
      if (i > 0 && (keys[i] as number) <= (keys[i - 1] as number)) {
        fail(`container keys are not strictly ascending (${keys[i - 1]}, ${keys[i]})`);
      }
      p += 4;
    }
    if (!runFlags || count >= NO_OFFSET_THRESHOLD) {
      need(4 * count, 'offset header');
      p += 4 * count;
    }
    const containers: Container[] = [];
    for (let i = 0; i < count; i++) {
      const key = keys[i] as number;
      const cardinality = cards[i] as number;
      const isRun = runFlags !== undefined && ((runFlags[i >> 3] as number) & (1 << (i & 7))) !== 0;
      if (isRun) {
        need(2, `run container ${key}`);
        const n = view.getUint16(p, true);
        p += 2;
        need(4 * n, `run container ${key}`);
        const runs = new Uint16Array(2 * n);
        let total = 0;
        let next = 0; // the smallest value the next run may start at
        for (let r = 0; r < n; r++) {
          const s = view.getUint16(p, true);
          const len = view.getUint16(p + 2, true);
          if (s < next) fail(`run container ${key}: runs overlap or are out of order`);
          if (s + len > 0xffff) fail(`run container ${key}: a run passes 65535`);
          runs[2 * r] = s;
          runs[2 * r + 1] = len;
          total += len + 1;
          next = s + len + 1;
          p += 4;
        }
        if (total !== cardinality) {
          fail(`run container ${key} holds ${total} values, its header says ${cardinality}`);
        }
        containers.push({ kind: 'run', key, cardinality, runs });
      } else if (cardinality <= ARRAY_CONTAINER_MAX) {
        need(2 * cardinality, `array container ${key}`);
        const values = new Uint16Array(cardinality);
        for (let k = 0; k < cardinality; k++) {
          values[k] = view.getUint16(p, true);
          if (k > 0 && (values[k] as number) <= (values[k - 1] as number)) {
            fail(`array container ${key}: values are not strictly ascending`);
          }
          p += 2;
        }
        containers.push({ kind: 'array', key, cardinality, values });
      } else {
        need(BITMAP_CONTAINER_BYTES, `bitmap container ${key}`);
        const bits = bytes.slice(p, p + BITMAP_CONTAINER_BYTES);
        let total = 0;
        for (const b of bits) total += POPCOUNT[b] as number;
        if (total !== cardinality) {
          fail(`bitmap container ${key} holds ${total} values, its header says ${cardinality}`);
        }
        p += BITMAP_CONTAINER_BYTES;
        containers.push({ kind: 'bitmap', key, cardinality, bits });
      }
    }
    return { bitmap: new Roaring32(containers), end: p };
  }

  private hasRun(): boolean {
    return this.containers.some((c) => c.kind === 'run');
  }
}

function containerHas(c: Container, low: number): boolean {
  switch (c.kind) {
    case 'bitmap':
      return (((c.bits[low >>> 3] as number) >>> (low & 7)) & 1) === 1;
    case 'array': {
      const vs = c.values;
      let lo = 0;
      let hi = vs.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = vs[mid] as number;
        if (v < low) lo = mid + 1;
        else if (v > low) hi = mid - 1;
        else return true;
      }
      return false;
    }
    case 'run': {
      // The last run starting at or before `low`.
      const rs = c.runs;
      let lo = 0;
      let hi = rs.length / 2 - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if ((rs[2 * mid] as number) <= low) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found >= 0 && low <= (rs[2 * found] as number) + (rs[2 * found + 1] as number);
    }
  }
}

function buildContainer(
  key: number,
  values: ArrayLike<number>,
  from: number,
  to: number,
  runCount: number,
): Container {
  const cardinality = to - from;
  const runBytes = 2 + 4 * runCount;
  const plainBytes = cardinality <= ARRAY_CONTAINER_MAX ? 2 * cardinality : BITMAP_CONTAINER_BYTES;
  if (runBytes < plainBytes) {
    const runs = new Uint16Array(2 * runCount);
    let r = -1;
    let prev = -2;
    for (let i = from; i < to; i++) {
      const low = (values[i] as number) & 0xffff;
      if (low !== prev + 1) {
        r++;
        runs[2 * r] = low;
      } else {
        runs[2 * r + 1] = (runs[2 * r + 1] as number) + 1;
      }
      prev = low;
    }
    return { kind: 'run', key, cardinality, runs };
  }
  if (cardinality <= ARRAY_CONTAINER_MAX) {
    const out = new Uint16Array(cardinality);
    for (let i = from; i < to; i++) out[i - from] = (values[i] as number) & 0xffff;
    return { kind: 'array', key, cardinality, values: out };
  }
  const bits = new Uint8Array(BITMAP_CONTAINER_BYTES);
  for (let i = from; i < to; i++) {
    const low = (values[i] as number) & 0xffff;
    bits[low >>> 3] = (bits[low >>> 3] as number) | (1 << (low & 7));
  }
  return { kind: 'bitmap', key, cardinality, bits };
}
