// What a card shows for one field, as the views render it (bot/core/views.ts): a masked value as masked,
// a closed-set value (type, region, status, …) by its label in the reader's language.
import type { Locale } from '../../bot/core/messages.ts';
import { valueLabel } from '../../bot/core/value-labels.ts';
import { displayValue } from '../../bot/core/views.ts';

export function shownValue(f: { field: string; value: string; outcome: string }, locale: Locale): string {
  return displayValue(f.outcome.startsWith('mask:') ? f.value : valueLabel(f.field, f.value, locale));
}
