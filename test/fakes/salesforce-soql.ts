// The SOQL subset the fake Salesforce understands — exactly the forms the connector sends, nothing more:
//   SELECT f, Rel.f, … FROM Object [WHERE cond] [ORDER BY f [ASC|DESC], …] [LIMIT n]
//   SELECT COUNT() FROM Object [WHERE cond]  (answered with totalSize and no records)
//   cond: comparisons (= != < <= > >=) of a field with a 'string', a number or a dateTime literal
//   (2026-06-01T08:00:00Z or …+08:00), `f IN ('a', 'b')`, AND, OR and parentheses.
// Anything else is a SoqlError with Salesforce's MALFORMED_QUERY (or INVALID_FIELD / INVALID_TYPE).

export class SoqlError extends Error {
  constructor(readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE', message: string) { super(message); }
}

type Value = string | number | { dateTime: number };
export type Cond =
  | { kind: 'cmp'; field: string; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: Value }
  | { kind: 'in'; field: string; values: Value[] }
  | { kind: 'and'; left: Cond; right: Cond }
  | { kind: 'or'; left: Cond; right: Cond };
export interface SoqlQuery { fields: string[]; count: boolean; object: string; where: Cond | null; orderBy: { field: string; desc: boolean }[]; limit: number | null }

const TOKEN = /\s*(?:(?<dt>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?(?:Z|[+-]\d\d:\d\d))|(?<str>'(?:[^'\\]|\\.)*')|(?<num>\d+(?:\.\d+)?)|(?<op><=|>=|!=|=|<|>)|(?<punct>[(),])|(?<word>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*))/y;

type Tok = { t: 'dt' | 'str' | 'num' | 'op' | 'punct' | 'word'; v: string };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < q.length) {
    if (/^\s*$/.test(q.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(q);
    if (!m?.groups) throw new SoqlError('MALFORMED_QUERY', `unexpected token at position ${pos}`);
    const [t, v] = Object.entries(m.groups).find(([, x]) => x !== undefined) as [Tok['t'], string];
    out.push({ t, v });
    pos = TOKEN.lastIndex;
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}
  private peek(): Tok | undefined { return this.toks[this.i]; }
  private isWord(w: string): boolean { const p = this.peek(); return p?.t === 'word' && p.v.toUpperCase() === w; }
  private word(w: string): void { if (!this.isWord(w)) throw new SoqlError('MALFORMED_QUERY', `expecting ${w}`); this.i++; }
  private punct(p: string): void { const x = this.peek(); if (x?.t !== 'punct' || x.v !== p) throw new SoqlError('MALFORMED_QUERY', `expecting '${p}'`); this.i++; }
  private field(): string {
    const x = this.peek();
    if (x?.t !== 'word' || ['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'IN', 'ORDER', 'BY', 'LIMIT', 'ASC', 'DESC', 'NOT', 'NULL'].includes(x.v.toUpperCase())) throw new SoqlError('MALFORMED_QUERY', 'expecting a field name');
    this.i++;
    return x.v;
  }
  private value(): Value {
    const x = this.peek();
    this.i++;
    if (x?.t === 'str') return x.v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (x?.t === 'num') return Number(x.v);
    if (x?.t === 'dt') return { dateTime: Date.parse(x.v) };
    throw new SoqlError('MALFORMED_QUERY', 'expecting a literal value');
  }
  query(): SoqlQuery {
    this.word('SELECT');
    const count = this.isWord('COUNT') && this.toks[this.i + 1]?.v === '(';
    const fields: string[] = [];
    if (count) { this.i++; this.punct('('); this.punct(')'); } else fields.push(this.field());
    while (!count && this.peek()?.v === ',') { this.i++; fields.push(this.field()); }
    this.word('FROM');
    const object = this.field();
    let where: Cond | null = null;
    if (this.isWord('WHERE')) { this.i++; where = this.or(); }
    const orderBy: SoqlQuery['orderBy'] = [];
    if (this.isWord('ORDER')) {
      this.i++; this.word('BY');
      for (;;) {
        const f = this.field();
        let desc = false;
        if (this.isWord('ASC')) this.i++; else if (this.isWord('DESC')) { this.i++; desc = true; }
        orderBy.push({ field: f, desc });
        if (this.peek()?.v !== ',') break;
        this.i++;
      }
    }
    let limit: number | null = null;
    if (this.isWord('LIMIT')) { this.i++; const v = this.value(); if (typeof v !== 'number') throw new SoqlError('MALFORMED_QUERY', 'LIMIT needs a number'); limit = v; }
    if (this.peek()) throw new SoqlError('MALFORMED_QUERY', `unexpected '${this.peek()!.v}'`);
    if (count && (orderBy.length > 0 || limit !== null)) throw new SoqlError('MALFORMED_QUERY', 'COUNT() takes no ORDER BY or LIMIT here');
    return { fields, count, object, where, orderBy, limit };
  }
  private or(): Cond {
    let left = this.and();
    while (this.isWord('OR')) { this.i++; left = { kind: 'or', left, right: this.and() }; }
    return left;
  }
  private and(): Cond {
    let left = this.factor();
    while (this.isWord('AND')) { this.i++; left = { kind: 'and', left, right: this.factor() }; }
    return left;
  }
  private factor(): Cond {
    if (this.peek()?.v === '(') { this.i++; const c = this.or(); this.punct(')'); return c; }
    const field = this.field();
    if (this.isWord('IN')) {
      this.i++; this.punct('(');
      const values = [this.value()];
      while (this.peek()?.v === ',') { this.i++; values.push(this.value()); }
      this.punct(')');
      return { kind: 'in', field, values };
    }
    const op = this.peek();
    if (op?.t !== 'op') throw new SoqlError('MALFORMED_QUERY', 'expecting a comparison operator');
    this.i++;
    return { kind: 'cmp', field, op: op.v as '=', value: this.value() };
  }
}

export function parseSoql(q: string): SoqlQuery {
  return new Parser(tokenize(q)).query();
}

/** Every field a query names (select, where, order by), for the field check. */
export function namedFields(q: SoqlQuery): string[] {
  const out = [...q.fields, ...q.orderBy.map((o) => o.field)];
  const walk = (c: Cond | null): void => {
    if (!c) return;
    if (c.kind === 'and' || c.kind === 'or') { walk(c.left); walk(c.right); } else out.push(c.field);
  };
  walk(q.where);
  return out;
}

/** A field's value as SOQL compares it: dateTime fields as epoch ms, the rest as they are. */
export type Getter = (field: string) => string | number | null;

function cmpValues(a: string | number | null, b: Value): number | null {
  if (a === null) return null;
  const bv = typeof b === 'object' ? b.dateTime : b;
  if (typeof a === 'number' && typeof bv === 'number') return a - bv;
  if (typeof a === 'string' && typeof bv === 'string') return a < bv ? -1 : a > bv ? 1 : 0;
  throw new SoqlError('MALFORMED_QUERY', 'value of incorrect type in a comparison');
}

export function matches(c: Cond | null, get: Getter): boolean {
  if (!c) return true;
  if (c.kind === 'and') return matches(c.left, get) && matches(c.right, get);
  if (c.kind === 'or') return matches(c.left, get) || matches(c.right, get);
  if (c.kind === 'in') return c.values.some((v) => cmpValues(get(c.field), v) === 0);
  const d = cmpValues(get(c.field), c.value);
  if (d === null) return c.op === '!=';
  return { '=': d === 0, '!=': d !== 0, '<': d < 0, '<=': d <= 0, '>': d > 0, '>=': d >= 0 }[c.op];
}
