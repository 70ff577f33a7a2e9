// Turns what a user typed after `/customer` (or in a DM / @mention) into a command: help, or a lookup
// with one classified query and an optional `purpose:`. Exact kinds (id, phone, e-mail, ID number) are
// normalised here so that the store's blind indexes and the audit HMAC see one spelling per value.
// Errors never echo the input: it may be a phone number or an ID number.
import { CustosError, ErrorCode } from './errors.ts';
import type { CustomerQuery } from './ports.ts';

export type Command =
  | { kind: 'help' }
  | { kind: 'lookup'; query: CustomerQuery; purpose?: string };

/** Why a query was refused; a stable code for the usage message and the audit log. */
export type QueryProblem = 'empty' | 'malformed' | 'too_short' | 'too_long' | 'purpose_empty' | 'purpose_too_long';

const MAX_INPUT = 500;
const MAX_PURPOSE = 200;
const MAX_TEXT_QUERY = 64;

const HELP_WORDS = new Set(['help', '?', '？', 'h', '帮助', '幫助', 'usage', '用法']);

// `purpose:` (or 目的/用途, with a full-width colon too) runs to `;` / `；` or the end of the input.
const PURPOSE = /(?:^|\s)(?:purpose|目的|用途)\s*[:：]\s*([^;；]*)(?:[;；]|$)/i;

export function parseCommand(input: string): Command {
  const text = normaliseSpaces(input.normalize('NFKC'));
  if (text.length > MAX_INPUT) throw invalid('too_long');
  if (HELP_WORDS.has(text.toLowerCase())) return { kind: 'help' };
  const { rest, purpose } = extractPurpose(text);
  if (rest === '') throw invalid('empty');
  const query = classify(rest);
  return purpose === undefined ? { kind: 'lookup', query } : { kind: 'lookup', query, purpose };
}

function normaliseSpaces(s: string): string {
  // Full-width spaces and NBSP are common in Chinese input methods.
  return s.replace(/[\u3000\u00a0\s]+/g, ' ').trim();
}

function extractPurpose(text: string): { rest: string; purpose?: string } {
  const m = PURPOSE.exec(text);
  if (!m) return { rest: text };
  const purpose = m[1]!.trim();
  if (purpose === '') throw invalid('purpose_empty');
  if (purpose.length > MAX_PURPOSE) throw invalid('purpose_too_long');
  const rest = `${text.slice(0, m.index)} ${text.slice(m.index + m[0].length)}`.trim();
  return { rest, purpose };
}

/** Classifies one query string (no purpose); throws QueryInvalid when it is none of the kinds. */
export function classify(raw: string): CustomerQuery {
  const s = raw.trim();
  const id = /^c-?(\d{6,9})$/i.exec(s);
  if (id) return { kind: 'id', value: `C-${id[1]}` };
  if (/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[A-Za-z]{2,}$/.test(s)) return { kind: 'email', value: s.toLowerCase() };
  if (/^\d{17}[\dXx]$/.test(s)) return { kind: 'idNumber', value: s.toUpperCase() };
  const phone = normalisePhone(s);
  if (phone) return { kind: 'phone', value: phone };
  if (isNameOrCompany(s)) {
    if (!longEnoughToSearch(s)) throw invalid('too_short');
    return { kind: 'text', value: s };
  }
  // One letter ("王") would be a name fragment but matches too much: say how long a fragment must be.
  if (/^[\p{L}\p{M}]$/u.test(s)) throw invalid('too_short');
  throw invalid('malformed');
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** Whether an 18-character resident ID number's last character is its ISO 7064 MOD 11-2 check digit. */
export function idNumberChecksumOk(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  const sum = ID_WEIGHTS.reduce((acc, w, i) => acc + w * Number(id[i]), 0);
  return ID_CHECK[sum % 11] === id[17];
}

/**
 * Mobile numbers (+86 / 0086 / 86 prefix, separators) become 11 digits; landlines (area code 0xx(x),
 * 7–8 digit number) become `0AREA-NUMBER`. Anything else is not a phone number.
 */
export function normalisePhone(s: string): string | undefined {
  if (!/^[+(\d][\d\s\-().]*$/.test(s)) return undefined;
  let digits = s.replace(/[\s\-().]/g, '');
  const international = digits.startsWith('+86') || digits.startsWith('0086');
  digits = digits.replace(/^(\+86|0086)/, '');
  if (digits.startsWith('+')) return undefined;
  if (/^1[3-9]\d{9}$/.test(digits)) return digits;
  if (!international && /^861[3-9]\d{9}$/.test(digits)) return digits.slice(2);
  const local = international && !digits.startsWith('0') ? `0${digits}` : digits;
  // Beijing, Shanghai, Tianjin, Chongqing and 02x areas have 3-digit codes; the rest 4 digits.
  const landline = /^(0[12]\d)(\d{8})$/.exec(local) ?? /^(0[3-9]\d{2})(\d{7,8})$/.exec(local);
  return landline ? `${landline[1]}-${landline[2]}` : undefined;
}

function isNameOrCompany(s: string): boolean {
  if (s.length > MAX_TEXT_QUERY) return false;
  // Letters of any script plus the punctuation that appears in company names; at least 2 letters,
  // so a single character does not scan every customer.
  if (!/^[\p{L}\p{M}\d][\p{L}\p{M}\d .&'·\-（）()]*$/u.test(s)) return false;
  const letters = s.match(/[\p{L}]/gu) ?? [];
  return letters.length >= 2;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * Names and companies are searched through keyed n-gram tokens (bot/store/search-tokens.ts): bigrams
 * that hold a Chinese character, trigrams otherwise. A shorter fragment has no n-gram to look up.
 */
function longEnoughToSearch(s: string): boolean {
  const chars = Array.from(s);
  return chars.length >= 3 || (chars.length === 2 && chars.some((c) => CJK.test(c)));
}

function invalid(problem: QueryProblem): CustosError {
  return new CustosError(ErrorCode.QueryInvalid, `query refused: ${problem}`, { problem });
}
