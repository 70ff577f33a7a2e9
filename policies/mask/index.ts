// The masking library: `mask(value, preset)` turns any Customer field value into the string a card may
// show. Presets follow REFERENCE §8; `<family>` is the default, `<family>.strict` keeps less and
// `<family>.loose` keeps more. Masking runs on the server: only the returned string leaves the process.
import { maskAddress } from './address.ts';
import { maskAmount } from './amount.ts';
import { maskEmail } from './email.ts';
import { maskBankCard, maskBirthDate, maskIdNumber, maskMonth } from './identity.ts';
import { maskName } from './name.ts';
import { maskLandline, maskMobile, maskPhone } from './phone.ts';
import { MASKED, REDACTED, textOf, type Strength } from './text.ts';

export { MASKED, REDACTED };

type Masker = (value: unknown, strength: Strength) => string;

const onText = (fn: (raw: string, strength: Strength) => string): Masker => (value, strength) => {
  const text = textOf(value);
  return text === undefined ? MASKED : fn(text, strength);
};

/** Families that come in default / strict / loose strengths. */
const FAMILIES: Record<string, { masker: Masker; example: [string, string, string] }> = {
  mobile: { masker: onText(maskMobile), example: ['138****5678', '*******5678', '13800135678'] },
  landline: { masker: onText(maskLandline), example: ['0915*****79', '0915********', '09151234579'] },
  phone: { masker: onText(maskPhone), example: ['138****5678 / 0915*****79', '*******5678 / 0915********', 'full'] },
  id: { masker: onText(maskIdNumber), example: ['110101********1234', '1***************34', 'full'] },
  bankcard: { masker: onText(maskBankCard), example: ['622202******7890', '************7890', '6222********7890'] },
  name: { masker: maskName, example: ['张*, 欧阳**, J*** S***', '*', 'full'] },
  email: { masker: maskEmail, example: ['d***@126.com', '***@126.com', 'dav***@126.com'] },
  address: { masker: maskAddress, example: ['北京市海淀区****', '北京市****', 'full'] },
  birthdate: { masker: maskBirthDate, example: ['****-08-15', '****-**-**', '1990-08-15'] },
  amount: { masker: maskAmount, example: ['¥10万–50万', '***', '¥123,456'] },
};

/** Single-strength presets for values that have no natural partial form. */
const SINGLE: Record<string, Masker> = {
  month: (value) => maskMonth(value), // timestamps: year and month only
  count: (value) => (Array.isArray(value) ? `(${value.length})` : REDACTED), // lists: how many entries
  redact: () => REDACTED, // present, but nothing of it is shown
};

export interface PresetInfo {
  name: string;
  /** 1 = loose, 2 = default, 3 = strict: used to pick the strictest outcome for an audience. */
  level: 1 | 2 | 3;
  /** True when the preset may show the whole value (the `.loose` variants that REFERENCE §8 calls "full"). */
  mayShowAll: boolean;
  example: string;
}

function buildRegistry(): Map<string, { masker: Masker; strength: Strength; info: PresetInfo }> {
  const registry = new Map<string, { masker: Masker; strength: Strength; info: PresetInfo }>();
  for (const [family, { masker, example }] of Object.entries(FAMILIES)) {
    const variants: [string, Strength, 1 | 2 | 3, string][] = [
      [family, 'default', 2, example[0]], [`${family}.strict`, 'strict', 3, example[1]], [`${family}.loose`, 'loose', 1, example[2]],
    ];
    for (const [name, strength, level, ex] of variants) {
      const mayShowAll = strength === 'loose' && family !== 'email' && family !== 'bankcard';
      registry.set(name, { masker, strength, info: { name, level, mayShowAll, example: ex } });
    }
  }
  for (const [name, masker] of Object.entries(SINGLE)) {
    registry.set(name, { masker, strength: 'default', info: { name, level: name === 'redact' ? 3 : 2, mayShowAll: false, example: name } });
  }
  return registry;
}

const REGISTRY = buildRegistry();

export const PRESET_NAMES: readonly string[] = [...REGISTRY.keys()];

export function isPreset(name: string): boolean {
  return REGISTRY.has(name);
}

export function presetInfo(name: string): PresetInfo | undefined {
  return REGISTRY.get(name)?.info;
}

/**
 * The masked form of `value` under `preset`. Never throws on odd values: input the preset does not
 * recognise (wrong type, too short, non-ASCII digits, …) keeps nothing. Unknown preset names are a
 * programming error (policies are validated on load), so they throw.
 */
export function mask(value: unknown, preset: string): string {
  const entry = REGISTRY.get(preset);
  if (!entry) throw new Error(`unknown mask preset: ${preset}`);
  if (value === undefined || value === null) return MASKED;
  return entry.masker(value, entry.strength);
}
