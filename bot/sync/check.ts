// `custos sync check SOURCE`: the mapping against the live source before any customer is touched.
// Two sources of truth are compared: the source's own field list (describeFields) — a mapping naming a
// field the source lacks is a problem — and a sample page of real records run through the same mapping
// and import row schema as a sync — a field whose values fail is a problem, named with how many sample
// records fail and why, never with a value. Source fields the mapping does not read are listed as
// information (most forms hold more than custos needs). Nothing is stored: no database is opened.
import { mapRecord, type SyncMapping } from './mapping.ts';
import { parseCustomerRow } from '../store/import-schemas.ts';
import type { Connector } from './types.ts';

export interface CheckReport { problems: string[]; unmapped: string[]; sampled: number; sourceFields: number }

/** A placeholder owner: ownership is resolved against the employee directory at sync time, not here. */
const SAMPLE_OWNER = 'E-0000';

function mappedPaths(mapping: SyncMapping): { target: string; from: string }[] {
  return [
    { target: 'customerId', from: mapping.customerId.from },
    { target: 'owner', from: mapping.owner.from },
    ...Object.entries(mapping.fields).map(([target, f]) => ({ target, from: f.from })),
  ];
}

export async function checkSource(mapping: SyncMapping, connector: Connector): Promise<CheckReport> {
  const problems: string[] = [];
  let unmapped: string[] = [];
  let sourceFields = 0;
  if (connector.describeFields) {
    const fields = await connector.describeFields();
    sourceFields = fields.length;
    const names = new Set(fields.map((f) => f.name));
    for (const { target, from } of mappedPaths(mapping)) {
      const root = from.split('.')[0]!;
      if (!names.has(root)) problems.push(`${target}: maps from "${from}", which ${connector.source} does not have; use one of its field names (${[...names].slice(0, 20).join(', ')})`);
    }
    const read = new Set(mappedPaths(mapping).map((p) => p.from.split('.')[0]!));
    unmapped = fields.filter((f) => !read.has(f.name) && f.type !== 'system').map((f) => f.name);
  } else {
    problems.push(`${connector.source}: its connector cannot list the source's fields; only the sample page is checked`);
  }
  const page = await connector.readChanges(null);
  const failures = new Map<string, { count: number; reasons: Set<string> }>();
  let sampled = 0;
  for (const change of page.changes) {
    if (change.op !== 'upsert') continue;
    sampled++;
    const mapped = mapRecord(mapping, change.fields);
    const found = mapped.ok
      ? [...(mapped.value.ownerRef === undefined ? [{ field: 'owner', reason: `${mapping.owner.from} is empty` }] : []),
        ...(() => { const r = parseCustomerRow({ ...mapped.value.row, ownerId: SAMPLE_OWNER }); return r.ok ? [] : r.problems; })()]
      : mapped.problems;
    for (const p of found) {
      const f = failures.get(p.field) ?? { count: 0, reasons: new Set<string>() };
      f.count++;
      f.reasons.add(p.reason);
      failures.set(p.field, f);
    }
  }
  for (const [field, f] of [...failures].sort(([a], [b]) => a.localeCompare(b))) {
    problems.push(`${field}: ${f.count} of ${sampled} sample record(s) fail (${[...f.reasons].slice(0, 3).join('; ')})`);
  }
  return { problems, unmapped, sampled, sourceFields };
}
