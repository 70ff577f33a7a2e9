// Addresses (REFERENCE §8): kept down to the district (default) or the province / city (strict).
// Only leading administrative units written in Han characters are kept, so street names, house
// numbers and anything in Latin script are always masked.
import { MASKED, type Strength } from './text.ts';

const HAN = '[\\u3400-\\u4dbf\\u4e00-\\u9fff]';
const UNITS = new RegExp(
  `^(${HAN}{1,8}?(?:省|自治区|特别行政区))?(${HAN}{1,8}?(?:市|自治州|地区|盟))?(${HAN}{1,8}?(?:区|县|市|旗))?`,
  'u',
);

export function maskAddress(value: unknown, strength: Strength): string {
  if (typeof value !== 'string') return MASKED;
  const v = value.normalize('NFC').trim();
  if (strength === 'loose') return v;
  const m = UNITS.exec(v);
  const province = m?.[1] ?? '';
  const city = m?.[2] ?? '';
  const district = m?.[3] ?? '';
  const kept = strength === 'strict' ? province + city : province + city + district;
  return `${kept}${MASKED}`;
}
