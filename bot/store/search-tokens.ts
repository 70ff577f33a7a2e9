// Fragment search over the ENCRYPTED customer name and company, index-backed on FerretDB and MongoDB
// alike: each stored customer carries `tokens`, keyed 64-bit HMACs (FieldCipher.searchToken) of the
// n-grams of its normalised name and of its normalised company, in a multikey index. A query fragment
// becomes the tokens of ITS n-grams and the database selects the documents holding all of them (`$all`);
// the candidates are then decrypted and kept only when the fragment really occurs in the name or the
// company (a document can hold every n-gram without holding the fragment, and 64-bit tokens can collide).
//
// Which n-grams: every 3-character window (Latin trigrams: "wang" → "wan", "ang"), plus every
// 2-character window that holds a CJK character (Chinese bigrams: "星河科技" must be found by "河科").
// Which windows are kept depends only on their own characters, so every n-gram of a fragment that occurs
// in a stored text is an n-gram of that text too. Hence the shortest searchable fragment: two Chinese
// characters or three Latin ones; shorter fragments have no n-gram and are refused as too short.
import { nfkc } from './crypto.ts';

/** NFKC, lower case, whitespace collapsed: the form both stored text and queries are compared in. */
export function normaliseSearchText(value: string): string {
  return nfkc(value).toLowerCase().replace(/\s+/g, ' ').trim();
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** The n-grams of one normalised text (see the header for which ones). */
export function nGrams(normalised: string): Set<string> {
  const chars = Array.from(normalised); // code points, so a non-BMP character is one character
  const out = new Set<string>();
  for (let i = 0; i < chars.length; i++) {
    const two = chars.slice(i, i + 2);
    if (two.length === 2 && two.some((c) => CJK.test(c))) out.add(two.join(''));
    const three = chars.slice(i, i + 3);
    if (three.length === 3) out.add(three.join(''));
  }
  return out;
}

/** Tokens stored with a customer: the keyed n-grams of its name and of its company (never across both). */
export function searchTokens(token: (gram: string) => string, name: string, company?: string): string[] {
  const grams = nGrams(normaliseSearchText(name));
  if (company) for (const g of nGrams(normaliseSearchText(company))) grams.add(g);
  return [...new Set([...grams].map(token))];
}

/** Tokens a fragment needs (empty when the fragment is too short to have an n-gram). */
export function queryTokens(token: (gram: string) => string, fragment: string): string[] {
  return [...new Set([...nGrams(normaliseSearchText(fragment))].map(token))];
}

/** Whether a decrypted customer really matches the fragment (drops the tokens' false positives). */
export function matchesFragment(fragment: string, name: string, company?: string): boolean {
  const f = normaliseSearchText(fragment);
  return normaliseSearchText(name).includes(f) || (company !== undefined && normaliseSearchText(company).includes(f));
}
