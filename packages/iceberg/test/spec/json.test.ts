import { describe, expect, it } from 'vitest';
import { IcebergError } from '../../src/errors.ts';
import { parseJson, stringifyJson } from '../../src/spec/json.ts';

describe('parseJson', () => {
  it('keeps big integers exact as bigint and small ones as numbers', () => {
    const v = parseJson(
      '{"snapshot-id": 3055729675574597004, "neg": -1, "min": -9223372036854775808, "f": 1.5e3, "g": -0.25, "safe": 9007199254740991, "unsafe": 9007199254740992, "bigf": 3055729675574597004.0}',
    );
    expect(v).toEqual({
      'snapshot-id': 3055729675574597004n,
      neg: -1,
      min: -9223372036854775808n,
      f: 1500,
      g: -0.25,
      safe: 9007199254740991,
      unsafe: 9007199254740992n,
      bigf: 3055729675574597000,
    });
  });

  it('agrees with JSON.parse on ordinary documents', () => {
    const docs = [
      '{"a":[1,2,{"b":null}],"c":"x\\"y\\\\z\\n\\u00e9\\ud83d\\ude00/\\/","d":true,"e":false}',
      '  [ ]  ',
      '{}',
      '"plain"',
      '-0',
      '[1e-7, 0.1, 123456789012, -5, 1E+2]',
      '{"nested": {"deep": [[[]], {"k": "v"}]}}',
    ];
    for (const d of docs) expect(parseJson(d)).toEqual(JSON.parse(d));
    expect(Object.is(parseJson('-0'), -0)).toBe(true);
  });

  it('keeps "__proto__" as an ordinary key', () => {
    const v = parseJson('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('rejects malformed input with the offset', () => {
    const bad: [string, string][] = [
      ['{"a":1,}', 'invalid JSON at offset 7: expected a string key'],
      ['[1 2]', 'invalid JSON at offset 3: expected , or ]'],
      ['{"a" 1}', 'invalid JSON at offset 5: expected :'],
      ['"abc', 'unterminated string'],
      ['01', 'offset 1: unexpected trailing characters'],
      ['tru', 'expected true'],
      ['"\\x"', 'invalid escape'],
      ['', 'unexpected end of input'],
      ['{"a":1} x', 'unexpected trailing characters'],
      ['"a\nb"', 'control character in string'],
    ];
    for (const [text, msg] of bad) {
      expect(() => parseJson(text)).toThrow(IcebergError);
      expect(() => parseJson(text)).toThrow(msg);
    }
  });
});

describe('stringifyJson', () => {
  it('writes bigint as bare integer literals', () => {
    expect(stringifyJson({ id: 3055729675574597004n, p: -1n, n: [1, 2.5] })).toBe(
      '{"id":3055729675574597004,"p":-1,"n":[1,2.5]}',
    );
  });

  it('matches JSON.stringify for ordinary values, compact and indented', () => {
    const v = {
      a: [1, 'two', null, { b: true, u: undefined }, [], {}],
      s: 'quote " and \\ and \u2028 and é',
      n: Number.NaN,
      skip: undefined,
      arr: [undefined, () => 1],
      date: new Date(0),
    };
    expect(stringifyJson(v)).toBe(JSON.stringify(v));
    expect(stringifyJson(v, 2)).toBe(JSON.stringify(v, null, 2));
    expect(stringifyJson([], 2)).toBe('[]');
    expect(stringifyJson({ only: undefined }, 2)).toBe('{}');
  });

  it('stays exact when strings or keys hold U+0000 (the bigint mark of the fast path)', () => {
    const big = 9007199254740993n;
    const v = { 'k\u00001': '\u00002', s: '\u0000-3', id: big, list: ['\u0000', -big] };
    const text = `{"k\\u00001":"\\u00002","s":"\\u0000-3","id":${big},"list":["\\u0000",${-big}]}`;
    expect(stringifyJson(v)).toBe(text);
    expect(parseJson(stringifyJson(v, 2))).toEqual(v);
    expect(stringifyJson({ s: 'a\u0000b', n: 1 })).toBe(JSON.stringify({ s: 'a\u0000b', n: 1 }));
  });

  it('round-trips with parseJson', () => {
    const v = { 'snapshot-id': 9223372036854775807n, list: [-9223372036854775808n, 0, 1.25] };
    expect(parseJson(stringifyJson(v, 2))).toEqual(v);
  });
});
