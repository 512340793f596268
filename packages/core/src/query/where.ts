/**
 * The `where` of a query as text: a small SQL-like grammar parsed into @kice/iceberg's
 * expression tree (packages/iceberg/src/scan/expressions.ts), or that tree as JSON,
 * validated. Errors are KiceError QUERY_INVALID whose message starts with `where:` and
 * names the position (0-based character offset) and the token, or the JSON path.
 *
 *   expr    := orExpr
 *   orExpr  := andExpr ( OR andExpr )*
 *   andExpr := notExpr ( AND notExpr )*
 *   notExpr := NOT notExpr | primary
 *   primary := '(' expr ')' | TRUE | FALSE | name pred
 *   pred    := cmp value | [NOT] IN '(' value (',' value)* ')' | IS [NOT] NULL
 *   cmp     := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 *   name    := ident ('.' ident)*         ident: [A-Za-z_][A-Za-z0-9_]* or "quoted ""x"""
 *   value   := integer | decimal | 'string' ('' escapes ') | TRUE | FALSE
 *            | TIMESTAMP 'iso' | DATE 'yyyy-mm-dd' | '-' number
 *
 * Keywords are case-insensitive. Literals: an integer outside ±(2^53 − 1) is a bigint
 * (exact); a decimal that a double holds exactly as written is a number, otherwise its text
 * (a string, read exactly by a decimal column); TIMESTAMP/DATE literals are checked here
 * and passed as their text. `= null` is refused (IS NULL says it). Grammar background:
 * SQL:2016 <search condition> (ISO/IEC 9075-2 §8.21), much reduced.
 */
import type { CompareOp, Expr } from '@kice/iceberg';
import { KiceError } from '../errors.ts';

const MAX_LENGTH = 64 * 1024;
const MAX_DEPTH = 64;
const MAX_IN = 10_000;

type Tok =
  | { kind: 'ident'; text: string; quoted: boolean; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'op'; text: string; at: number }
  | { kind: 'end'; at: number };

function fail(msg: string): never {
  return failAt(`where: ${msg}`);
}

/** `msg` starts with the JSON path (where, where.left, …). */
function failAt(msg: string): never {
  throw new KiceError('QUERY_INVALID', msg, { context: { field: 'where' } });
}

function show(t: Tok): string {
  switch (t.kind) {
    case 'end':
      return 'the end';
    case 'string':
      return `'${t.value.replaceAll("'", "''")}'`;
    case 'ident':
      return t.quoted ? `"${t.text.replaceAll('"', '""')}"` : `'${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i] as string)) i++;
      out.push({ kind: 'ident', text: src.slice(at, i), quoted: false, at });
    } else if (/[0-9]/.test(c)) {
      const m = /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
      m.lastIndex = i;
      const hit = m.exec(src) as RegExpExecArray;
      i += hit[0].length;
      if (i < src.length && /[A-Za-z_.]/.test(src[i] as string))
        fail(`malformed number '${src.slice(at, i + 1)}' at ${at}`);
      out.push({ kind: 'number', text: hit[0], at });
    } else if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length)
          fail(`unterminated ${c === "'" ? 'string' : 'quoted name'} starting at ${at}`);
        const d = src[i] as string;
        if (d === c) {
          if (src[i + 1] === c) {
            value += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      if (c === "'") out.push({ kind: 'string', value, at });
      else {
        if (value === '') fail(`empty quoted name at ${at}`);
        out.push({ kind: 'ident', text: value, quoted: true, at });
      }
    } else {
      const two = src.slice(i, i + 2);
      if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
        out.push({ kind: 'op', text: two, at });
        i += 2;
      } else if ('=<>(),.-'.includes(c)) {
        out.push({ kind: 'op', text: c, at });
        i++;
      } else fail(`unexpected character ${JSON.stringify(c)} at ${at}`);
    }
  }
  out.push({ kind: 'end', at: src.length });
  return out;
}

const CMP: Record<string, CompareOp> = {
  '=': 'eq',
  '!=': 'notEq',
  '<>': 'notEq',
  '<': 'lt',
  '<=': 'ltEq',
  '>': 'gt',
  '>=': 'gtEq',
};

const RESERVED = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private get peek(): Tok {
    return this.toks[this.pos] as Tok;
  }
  private next(): Tok {
    return this.toks[this.pos++] as Tok;
  }
  private isKw(word: string, t: Tok = this.peek): boolean {
    return t.kind === 'ident' && !t.quoted && t.text.toLowerCase() === word;
  }
  private isOp(op: string, t: Tok = this.peek): boolean {
    return t.kind === 'op' && t.text === op;
  }
  private expected(what: string, after?: Tok): never {
    const t = this.peek;
    const where = after ? ` after ${show(after)}` : '';
    return fail(`expected ${what}${where} at ${t.at}, got ${show(t)}`);
  }

  parse(): Expr {
    const e = this.or();
    if (this.peek.kind !== 'end') this.expected('AND, OR or the end');
    return e;
  }

  private or(): Expr {
    if (++this.depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} at ${this.peek.at}`);
    let left = this.and();
    while (this.isKw('or')) {
      this.next();
      left = { op: 'or', left, right: this.and() };
    }
    this.depth--;
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isKw('and')) {
      this.next();
      left = { op: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.isKw('not')) {
      this.next();
      if (++this.depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} at ${this.peek.at}`);
      const child = this.not();
      this.depth--;
      return { op: 'not', child };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek;
    if (this.isOp('(')) {
      this.next();
      const e = this.or();
      if (!this.isOp(')')) this.expected("')'");
      this.next();
      return e;
    }
    if (this.isKw('true') || this.isKw('false')) {
      this.next();
      return { op: t.kind === 'ident' && t.text.toLowerCase() === 'true' ? 'true' : 'false' };
    }
    const ref = this.name();
    return this.predicate(ref);
  }

  private name(): string {
    const parts: string[] = [];
    for (;;) {
      const t = this.peek;
      if (t.kind !== 'ident' || (!t.quoted && RESERVED.has(t.text.toLowerCase())))
        this.expected(parts.length ? 'a field name' : 'a column name');
      this.next();
      parts.push(t.text);
      if (!this.isOp('.')) return parts.join('.');
      this.next();
    }
  }

  private predicate(ref: string): Expr {
    const t = this.peek;
    if (t.kind === 'op' && CMP[t.text]) {
      this.next();
      return { op: CMP[t.text] as CompareOp, ref, value: this.value(t) };
    }
    if (this.isKw('is')) {
      const is = this.next();
      let negated = false;
      if (this.isKw('not')) {
        this.next();
        negated = true;
      }
      if (!this.isKw('null')) this.expected('NULL', is);
      this.next();
      return { op: negated ? 'notNull' : 'isNull', ref };
    }
    let negated = false;
    if (this.isKw('not')) {
      this.next();
      negated = true;
      if (!this.isKw('in')) this.expected('IN');
    }
    if (this.isKw('in')) {
      const inTok = this.next();
      if (!this.isOp('(')) this.expected("'('", inTok);
      const open = this.next();
      const values: unknown[] = [this.value(open)];
      while (this.isOp(',')) {
        const comma = this.next();
        if (values.length >= MAX_IN) fail(`IN list longer than ${MAX_IN} values at ${comma.at}`);
        values.push(this.value(comma));
      }
      if (!this.isOp(')')) this.expected("',' or ')'");
      this.next();
      return { op: negated ? 'notIn' : 'in', ref, values };
    }
    return this.expected(`a comparison (=, !=, <, <=, >, >=, IN, IS NULL) after ${ref}`);
  }

  private value(after: Tok): unknown {
    const t = this.peek;
    if (this.isOp('-')) {
      this.next();
      const n = this.peek;
      if (n.kind !== 'number') this.expected('a number', t);
      this.next();
      return numberLiteral(`-${n.text}`);
    }
    if (t.kind === 'number') {
      this.next();
      return numberLiteral(t.text);
    }
    if (t.kind === 'string') {
      this.next();
      return t.value;
    }
    if (this.isKw('true') || this.isKw('false')) {
      this.next();
      return (t as { text: string }).text.toLowerCase() === 'true';
    }
    if (this.isKw('null'))
      fail(`null is not a value to compare with at ${t.at} (use IS NULL / IS NOT NULL)`);
    if (this.isKw('timestamp') || this.isKw('date')) {
      const kw = this.next() as { text: string };
      const s = this.peek;
      if (s.kind !== 'string') this.expected(`a quoted ${kw.text.toUpperCase()} text`, t);
      this.next();
      const date = kw.text.toLowerCase() === 'date';
      const ok = date
        ? /^\d{4}-\d{2}-\d{2}$/.test(s.value) && !Number.isNaN(Date.parse(s.value))
        : /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(
            s.value,
          ) && !Number.isNaN(Date.parse(s.value.replace(' ', 'T').replace(/\.\d+/, '')));
      if (!ok)
        fail(
          `${date ? 'DATE' : 'TIMESTAMP'} '${s.value}' at ${s.at} is not an ISO 8601 ${date ? 'date' : 'timestamp'}`,
        );
      return s.value;
    }
    return this.expected('a value', after);
  }
}

function numberLiteral(text: string): unknown {
  if (/^-?[0-9]+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  // Exact as a double when its shortest form has the same digits as the text.
  return sameDecimal(String(n), text) ? n : text;
}

function sameDecimal(a: string, b: string): boolean {
  const norm = (s: string): string => {
    if (/e/i.test(s)) return s.toLowerCase();
    let [i = '', f = ''] = s.split('.');
    const neg = i.startsWith('-');
    i = i.replace(/^-/, '').replace(/^0+(?=\d)/, '');
    f = f.replace(/0+$/, '');
    return `${neg ? '-' : ''}${i}${f ? `.${f}` : ''}`;
  };
  return norm(a) === norm(b);
}

/** Parses `where` text into an expression; a KiceError naming position and token if bad. */
export function parseWhere(text: string): Expr {
  if (text.length > MAX_LENGTH) fail(`longer than ${MAX_LENGTH} characters`);
  if (text.trim() === '') fail('empty (leave it out to read every row)');
  return new Parser(tokenize(text)).parse();
}

const LEAF_REF = new Set(['isNull', 'notNull']);
const LEAF_VALUE = new Set(['eq', 'notEq', 'lt', 'ltEq', 'gt', 'gtEq']);
const LEAF_VALUES = new Set(['in', 'notIn']);
const OPS = ['true', 'false', 'and', 'or', 'not', ...LEAF_REF, ...LEAF_VALUE, ...LEAF_VALUES];

function checkValue(v: unknown, path: string): void {
  const ok =
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    typeof v === 'bigint' ||
    (typeof v === 'number' && Number.isFinite(v));
  if (!ok) failAt(`${path}: expected a number, string or boolean, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : (JSON.stringify(v) ?? typeof v);
}

/** Validates the expression JSON (`{"op": "and", "left": …}`); errors name the path. */
export function checkExprJson(v: unknown, path = 'where', depth = 0): Expr {
  if (depth > MAX_DEPTH) failAt(`${path}: nested deeper than ${MAX_DEPTH}`);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    failAt(`${path}: expected an expression object or a where string, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  const op = o.op;
  if (typeof op !== 'string' || !OPS.includes(op))
    failAt(`${path}.op: expected one of ${OPS.join(', ')}, got ${describe(op)}`);
  const allowed =
    op === 'and' || op === 'or'
      ? ['op', 'left', 'right']
      : op === 'not'
        ? ['op', 'child']
        : LEAF_REF.has(op)
          ? ['op', 'ref']
          : LEAF_VALUE.has(op)
            ? ['op', 'ref', 'value']
            : LEAF_VALUES.has(op)
              ? ['op', 'ref', 'values']
              : ['op'];
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      failAt(`${path}.${k}: unknown field for op "${op}" (fields: ${allowed.join(', ')})`);
  for (const k of allowed) if (!(k in o)) failAt(`${path}.${k}: missing (op "${op}")`);
  if (op === 'and' || op === 'or')
    return {
      op,
      left: checkExprJson(o.left, `${path}.left`, depth + 1),
      right: checkExprJson(o.right, `${path}.right`, depth + 1),
    };
  if (op === 'not') return { op, child: checkExprJson(o.child, `${path}.child`, depth + 1) };
  if (op === 'true' || op === 'false') return { op };
  if (typeof o.ref !== 'string' || o.ref === '')
    failAt(`${path}.ref: expected a column name, got ${describe(o.ref)}`);
  const ref = o.ref;
  if (LEAF_REF.has(op)) return { op: op as 'isNull', ref };
  if (LEAF_VALUE.has(op)) {
    checkValue(o.value, `${path}.value`);
    return { op: op as CompareOp, ref, value: o.value };
  }
  if (!Array.isArray(o.values) || o.values.length === 0 || o.values.length > MAX_IN)
    failAt(`${path}.values: expected an array of 1 to ${MAX_IN} values`);
  for (const [i, x] of o.values.entries()) checkValue(x, `${path}.values[${i}]`);
  return { op: op as 'in', ref, values: o.values };
}

/** A query's `where` as given (text or expression JSON) → the expression. */
export function whereOf(v: unknown): Expr {
  return typeof v === 'string' ? parseWhere(v) : checkExprJson(v);
}
