// List filters (RFC 7644 §3.4.2.2), parsed and evaluated by scim2-parse-filter. Two additions:
//  - userName and e-mail values are case-insensitive (RFC 7643 caseExact false), so both sides of a
//    comparison on them are lower-cased; externalId and id stay exact;
//  - the equality lookups IdPs send before every create (userName eq, externalId eq, emails[type eq
//    "work"].value eq) become an indexed database query, so a check costs one index read, not a scan.
//    The library still evaluates the whole filter on what that query returns.
import { filter as compile, parse, type Filter } from 'scim2-parse-filter';
import { badRequest } from './errors.ts';

const CASE_INSENSITIVE = new Set(['username', 'emails.value', 'emails.type', 'displayname', 'value', 'type']);

export interface ParsedFilter { matches: (resource: unknown) => boolean; query: Record<string, unknown> | null }

export function parseFilter(text: string, resource: 'User' | 'Group'): ParsedFilter {
  let ast: Filter;
  try {
    ast = parse(text);
  } catch {
    throw badRequest('invalidFilter', 'the filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2)');
  }
  const folded = fold(ast, '');
  const test = compile(folded);
  return { matches: (r) => test(lowered(r)), query: resource === 'User' ? userQuery(folded) : groupQuery(folded) };
}

function attr(path: string): string {
  const i = path.lastIndexOf(':');
  return (i >= 0 ? path.slice(i + 1) : path).toLowerCase();
}

/** Lower-cases the compared value of case-insensitive attributes. */
function fold(f: Filter, parent: string): Filter {
  switch (f.op) {
    case 'and': case 'or': return { ...f, filters: f.filters.map((x) => fold(x, parent)) };
    case 'not': return { ...f, filter: fold(f.filter, parent) };
    case '[]': return { ...f, valFilter: fold(f.valFilter, attr(f.attrPath)) };
    case 'pr': return f;
    default: {
      const name = parent ? `${parent}.${attr(f.attrPath)}` : attr(f.attrPath);
      const insensitive = CASE_INSENSITIVE.has(name) && (parent === '' ? name !== 'value' && name !== 'type' : true);
      return insensitive && typeof f.compValue === 'string' ? { ...f, compValue: f.compValue.toLowerCase() } : f;
    }
  }
}

/** The resource with case-insensitive values lower-cased, for evaluation only. */
function lowered(r: unknown): unknown {
  if (!r || typeof r !== 'object') return r;
  const o = r as Record<string, unknown>;
  const out: Record<string, unknown> = { ...o };
  if (typeof o.userName === 'string') out.userName = o.userName.toLowerCase();
  if (typeof o.displayName === 'string') out.displayName = o.displayName.toLowerCase();
  if (Array.isArray(o.emails)) {
    out.emails = o.emails.map((e: Record<string, unknown>) => ({ ...e, value: String(e.value ?? '').toLowerCase(), ...(typeof e.type === 'string' ? { type: e.type.toLowerCase() } : {}) }));
  }
  return out;
}

function userQuery(f: Filter): Record<string, unknown> | null {
  if (f.op === 'and') {
    for (const part of f.filters) {
      const q = userQuery(part);
      if (q) return q;
    }
    return null;
  }
  if (f.op === 'eq' && typeof f.compValue === 'string') {
    const name = attr(f.attrPath);
    if (name === 'username') return { userNameKey: f.compValue };
    if (name === 'externalid') return { externalId: f.compValue };
    if (name === 'id') return { _id: f.compValue };
    if (f.attrPath.toLowerCase() === 'emails.value' || f.attrPath.toLowerCase() === 'emails') return { emailKeys: f.compValue };
  }
  if (f.op === '[]' && attr(f.attrPath) === 'emails') {
    const inner = findEq(f.valFilter, 'value');
    if (inner) return { emailKeys: inner };
  }
  return null;
}

function groupQuery(f: Filter): Record<string, unknown> | null {
  if (f.op === 'eq' && typeof f.compValue === 'string') {
    const name = attr(f.attrPath);
    if (name === 'displayname') return { displayNameKey: f.compValue };
    if (name === 'externalid') return { externalId: f.compValue };
    if (name === 'id') return { _id: f.compValue };
  }
  return null;
}

function findEq(f: Filter, name: string): string | null {
  if (f.op === 'eq' && attr(f.attrPath) === name && typeof f.compValue === 'string') return f.compValue;
  if (f.op === 'and') for (const p of f.filters) { const v = findEq(p, name); if (v) return v; }
  return null;
}
