import { describe, expect, it } from 'vitest';
import { readFrame } from '../../src/registry/frame.ts';

describe('readFrame', () => {
  it('reads the big-endian schema id after magic byte 0', () => {
    expect(readFrame(Uint8Array.of(0, 0, 0, 0, 7, 42))).toEqual({ schemaId: 7, payloadOffset: 5 });
    expect(readFrame(Uint8Array.of(0, 0xff, 0xff, 0xff, 0xfe))).toEqual({
      schemaId: 0xfffffffe,
      payloadOffset: 5,
    });
  });
  it('refuses a wrong magic byte and a short header with the reason', () => {
    expect(() => readFrame(Uint8Array.of(1, 0, 0, 0, 1))).toThrow(
      'not a Schema Registry frame: magic byte is 1, expected 0',
    );
    expect(() => readFrame(Uint8Array.of(0, 0, 0))).toThrow(
      'not a Schema Registry frame: 3 bytes, the header alone is 5',
    );
  });
});
