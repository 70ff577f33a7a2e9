// Fragment search over customer name and company, Chinese and Latin, index-backed on FerretDB and
// MongoDB alike (no text or collation indexes there): each stored customer carries `tokens`, the set of
// lowercase character unigrams and bigrams of its normalised name and company, in a multikey index.
// A query fragment becomes the bigrams it contains (or its single character) and the database selects
// documents holding ALL of them (`$all` on the multikey index), then an escaped, case-insensitive regex
// over `search` (normalised name + company) confirms the fragment really occurs as a whole.
// Bigrams, not words: Chinese has no spaces ("星河科技" must be found by "河科"), and a 2-character
// fragment is the shortest that is still selective.
import { nfkc } from './crypto.ts';

/** NFKC, lower case, whitespace collapsed: the form both stored text and queries are compared in. */
export function normaliseSearchText(value: string): string {
  return nfkc(value).toLowerCase().replace(/\s+/g, ' ').trim();
}

function gramsOf(text: string, into: Set<string>): void {
  const chars = Array.from(text); // code points, so a non-BMP character is one character
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ' ') continue;
    into.add(c);
    const next = chars[i + 1];
    if (next !== undefined && next !== ' ') into.add(c + next);
  }
}

/** Tokens stored with a customer: unigrams and bigrams of its name and company. */
export function searchTokens(name: string, company?: string): string[] {
  const set = new Set<string>();
  gramsOf(normaliseSearchText(name), set);
  if (company) gramsOf(normaliseSearchText(company), set);
  return [...set];
}

/** The normalised text the confirming regex runs over (newline-separated, so no fragment spans both). */
export function searchText(name: string, company?: string): string {
  return company ? `${normaliseSearchText(name)}\n${normaliseSearchText(company)}` : normaliseSearchText(name);
}

/** Tokens a fragment needs: its bigrams, or its characters when it has no bigram (e.g. `张`, `a b`). */
export function queryTokens(fragment: string): string[] {
  const text = normaliseSearchText(fragment);
  const chars = Array.from(text);
  const bigrams = new Set<string>();
  const unigrams = new Set<string>();
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ' ') continue;
    unigrams.add(c);
    const next = chars[i + 1];
    if (next !== undefined && next !== ' ') bigrams.add(c + next);
  }
  return [...(bigrams.size > 0 ? bigrams : unigrams)];
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
