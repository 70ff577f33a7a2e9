// Personal and company names (REFERENCE §8). Chinese names keep the surname (compound surnames such as
// 欧阳 whole); other names keep the initial of the first and of the last word. Lengths of the hidden
// parts are fixed for non-Chinese names so the mask does not reveal how long each word is.
import { REDACTED, codePoints, type Strength } from './text.ts';

/** Two-character surnames (复姓) that are kept whole. */
const COMPOUND_SURNAMES = new Set([
  '欧阳', '太史', '端木', '上官', '司马', '东方', '独孤', '南宫', '万俟', '闻人', '夏侯', '诸葛', '尉迟', '公羊',
  '赫连', '澹台', '皇甫', '宗政', '濮阳', '公冶', '太叔', '申屠', '公孙', '慕容', '仲孙', '钟离', '长孙', '宇文',
  '司徒', '鲜于', '司空', '闾丘', '子车', '亓官', '司寇', '巫马', '公西', '颛孙', '壤驷', '公良', '漆雕', '乐正',
  '宰父', '谷梁', '拓跋', '夹谷', '轩辕', '令狐', '段干', '百里', '呼延', '东郭', '南门', '羊舌', '微生', '梁丘',
  '左丘', '西门', '第五', '南荣', '东里', '东宫', '仲长', '子桑', '即墨', '达奚', '褚师',
]);

const HAN = /^[\u3400-\u4dbf\u4e00-\u9fff\u{20000}-\u{2ebef}]$/u;

function isHan(ch: string | undefined): boolean {
  return ch !== undefined && HAN.test(ch);
}

function maskChineseName(chars: string[]): string {
  const surnameLength = chars.length > 2 && COMPOUND_SURNAMES.has(chars.slice(0, 2).join('')) ? 2 : 1;
  if (chars.length <= surnameLength) return '*'; // a lone surname would be the whole name
  return `${chars.slice(0, surnameLength).join('')}${'*'.repeat(chars.length - surnameLength)}`;
}

function maskLatinName(name: string): string {
  const words = name.split(/[\s·•.,_-]+/u).filter(Boolean);
  const first = words[0];
  if (!first) return '*';
  const initial = (word: string) => `${codePoints(word)[0]}***`;
  return words.length === 1 ? initial(first) : `${initial(first)} ${initial(words[words.length - 1]!)}`;
}

export function maskName(value: unknown, strength: Strength): string {
  if (typeof value !== 'string') return REDACTED;
  const name = value.normalize('NFC').trim();
  if (strength === 'loose') return name;
  if (strength === 'strict' || name === '') return '*';
  const chars = codePoints(name);
  if (chars.every(isHan)) return maskChineseName(chars);
  if (isHan(chars[0])) return `${chars[0]}*`; // mixed script such as 张Alex: keep the surname only
  return maskLatinName(name);
}
