// Cutting a text to a platform's limit, with `…` where it was cut: by characters (never inside a
// surrogate pair: a cut emoji would be a broken character on the card) or by UTF-8 bytes.

export function clipChars(s: string, max: number): string {
  if (s.length <= max) return s; // UTF-16 units ≥ characters: short enough, no need to split (most texts)
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** At most `max` UTF-8 bytes, cut on a character boundary. */
export function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max - 3) break;
    out += ch;
  }
  return `${out}…`;
}
