/**
 * MurmurHash3 x86 32-bit, the hash behind Iceberg's bucket transform.
 *
 * Spec: https://iceberg.apache.org/spec/#appendix-b-32-bit-hash-requirements
 * (murmur3_x86_32, seed 0, over the single-value bytes described there).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mixK(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C1), 15), C2);
}

/** murmur3_x86_32 of `bytes`; the result is a signed 32-bit integer, as Java returns it. */
export function murmur3x86_32(bytes: Uint8Array, seed = 0): number {
  const len = bytes.length;
  const blocks = len & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    const k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    h ^= mixK(k);
    h = rotl32(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let tail = 0;
    if (rest === 3) tail ^= (bytes[blocks + 2] as number) << 16;
    if (rest >= 2) tail ^= (bytes[blocks + 1] as number) << 8;
    tail ^= bytes[blocks] as number;
    h ^= mixK(tail);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
