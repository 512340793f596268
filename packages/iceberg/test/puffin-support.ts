/**
 * Helpers of the Puffin / deletion vector tests, independent of the code under test: a
 * bitwise CRC-32 (the zlib / java.util.zip.CRC32 polynomial) and hex byte literals.
 */
import { expect } from 'vitest';
import { IcebergError } from '../src/errors.ts';

/** Bytes from hex pairs; whitespace and `//` comments to the end of a line ignored. */
export function hex(text: string): Uint8Array {
  const s = text.replace(/\/\/.*$/gm, '').replace(/\s+/g, '');
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`bad hex ${text}`);
  return Uint8Array.from({ length: s.length / 2 }, (_, i) =>
    Number.parseInt(s.slice(2 * i, 2 * i + 2), 16),
  );
}

/** CRC-32, reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF; bit by bit. */
export function referenceCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A DV blob around `bitmap` (the portable 64-bit bytes) with a right length and CRC. */
export function frameDv(bitmap: Uint8Array, magic = hex('D1 D3 39 64')): Uint8Array {
  const data = concat(magic, bitmap);
  const out = new Uint8Array(4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, false);
  out.set(data, 4);
  view.setUint32(4 + data.length, referenceCrc32(data), false);
  return out;
}

/** Little-endian uint32 / uint16 bytes. */
export function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v, true);
  return out;
}
export function u16(...vs: number[]): Uint8Array {
  const out = new Uint8Array(2 * vs.length);
  const view = new DataView(out.buffer);
  vs.forEach((v, i) => {
    view.setUint16(2 * i, v, true);
  });
  return out;
}

/** Expects `fn` to throw an IcebergError with `code` whose message matches `message`. */
export function expectIcebergError(fn: () => unknown, code: string, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code} ${message}`).toBeInstanceOf(IcebergError);
  expect((thrown as IcebergError).code).toBe(code);
  expect((thrown as IcebergError).message).toMatch(message);
}
