// Loads policy files (one file, or every *.yaml / *.yml directly inside a directory), validates them
// completely and merges them into one Policy. Problems name the file, the path inside it and the rule
// id, and all of them are reported together; nothing is loaded when any exists.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import { CustosError, ErrorCode } from '../bot/domain/errors.ts';
import { policyFileSchema, type ApprovalRule, type ContextRule, type PolicyFile, type PolicyRule, type Settings } from './schema.ts';

export interface PolicyProblem { file: string; path: string; ruleId?: string; message: string }

export interface Policy {
  /** sha256 over the files' names and contents: abilities are cached per principal and version. */
  version: string;
  files: string[];
  /** Each file's SHA-256 (hex) as loaded: recorded in the `policy.load` audit event (DPO compliance pack). */
  fileDigests?: { file: string; sha256: string }[];
  settings: Settings;
  rules: (PolicyRule & { file: string })[];
  context: (ContextRule & { file: string })[];
  approvals: (ApprovalRule & { file: string })[];
}

export const DEFAULT_SETTINGS: Settings = { workingHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '19:00' } };

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}: ${p.path || '(file)'}${p.ruleId ? ` [rule ${p.ruleId}]` : ''}: ${p.message}`;
}

function pathText(parts: readonly PropertyKey[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function ruleIdAt(raw: unknown, parts: readonly PropertyKey[]): string | undefined {
  const [section, index] = parts;
  if (typeof section !== 'string' || typeof index !== 'number' || !raw || typeof raw !== 'object') return undefined;
  const list = (raw as Record<string, unknown>)[section];
  const item = Array.isArray(list) ? list[index] : undefined;
  const id = item && typeof item === 'object' ? (item as Record<string, unknown>).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

function zodProblems(file: string, raw: unknown, error: ZodError): PolicyProblem[] {
  return error.issues.map((issue) => ({ file, path: pathText(issue.path), ruleId: ruleIdAt(raw, issue.path), message: issue.message }));
}

/** Parses and validates one file's text. */
export function parsePolicyText(file: string, text: string): { policy?: PolicyFile; problems: PolicyProblem[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return { problems: doc.errors.map((e) => ({ file, path: e.linePos ? `line ${e.linePos[0].line}` : '', message: e.message.split('\n')[0]! })) };
  }
  const raw: unknown = doc.toJS();
  const parsed = policyFileSchema.safeParse(raw);
  if (!parsed.success) return { problems: zodProblems(file, raw, parsed.error) };
  return { policy: parsed.data, problems: [] };
}

/** The policy files named by `target`: the file itself, or the YAML files directly inside the directory. */
export function policyFilesAt(target: string): string[] {
  const stat = statSync(target);
  if (!stat.isDirectory()) return [target];
  return readdirSync(target).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(target, f));
}

function crossFileProblems(parts: { file: string; policy: PolicyFile }[]): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const seen = new Map<string, string>();
  for (const { file, policy } of parts) {
    for (const section of ['rules', 'context', 'approvals'] as const) {
      policy[section].forEach((r, i) => {
        const where = seen.get(r.id);
        if (where) problems.push({ file, path: `${section}[${i}].id`, ruleId: r.id, message: `rule id "${r.id}" is already used in ${where}` });
        else seen.set(r.id, `${file} ${section}[${i}]`);
      });
    }
  }
  const withSettings = parts.filter((p) => p.policy.settings);
  if (withSettings.length > 1) {
    problems.push({ file: withSettings[1]!.file, path: 'settings', message: `settings are already given in ${withSettings[0]!.file}; give them in one file only` });
  }
  if (parts.length === 0) problems.push({ file: '(none)', path: '', message: 'no policy files found' });
  return problems;
}

/** Validates and merges policy texts (already read): the core of checkPolicy, usable without files. */
export function checkPolicyTexts(entries: { file: string; text: string }[]): { policy?: Policy; problems: PolicyProblem[] } {
  const parts: { file: string; policy: PolicyFile }[] = [];
  const problems: PolicyProblem[] = [];
  const hash = createHash('sha256');
  for (const { file, text } of entries) {
    hash.update(`${path.basename(file)}\0${text}\0`);
    const result = parsePolicyText(file, text);
    problems.push(...result.problems);
    if (result.policy) parts.push({ file, policy: result.policy });
  }
  if (problems.length === 0) problems.push(...crossFileProblems(parts));
  if (problems.length) return { problems };
  const tag = <T>(file: string, list: T[]) => list.map((r) => ({ ...r, file }));
  return {
    problems,
    policy: {
      version: hash.digest('hex').slice(0, 16),
      files: entries.map((e) => e.file),
      fileDigests: entries.map((e) => ({ file: e.file, sha256: createHash('sha256').update(e.text).digest('hex') })),
      settings: parts.find((p) => p.policy.settings)?.policy.settings ?? DEFAULT_SETTINGS,
      rules: parts.flatMap((p) => tag(p.file, p.policy.rules)),
      context: parts.flatMap((p) => tag(p.file, p.policy.context)),
      approvals: parts.flatMap((p) => tag(p.file, p.policy.approvals)),
    },
  };
}

/** Validates everything at `target` (a file or a directory) and returns the merged policy, or every problem found. */
export function checkPolicy(target: string): { policy?: Policy; problems: PolicyProblem[] } {
  let entries: { file: string; text: string }[];
  try {
    entries = policyFilesAt(target).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
  } catch {
    return { problems: [{ file: target, path: '', message: 'cannot read this file or directory' }] };
  }
  return checkPolicyTexts(entries);
}

/** Loads the policy or throws CustosError(PolicyInvalid) listing every problem. */
export function loadPolicy(target: string): Policy {
  const { policy, problems } = checkPolicy(target);
  if (!policy) {
    throw new CustosError(ErrorCode.PolicyInvalid, `invalid policy:\n${problems.map(formatProblem).join('\n')}`, {
      problems: problems.map(formatProblem),
    });
  }
  return policy;
}
