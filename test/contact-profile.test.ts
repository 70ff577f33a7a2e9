// One rule for every platform's contact API (bot/core/identity.ts contactProfile): the e-mail to match
// once and a locale where there is one; a user the platform will not describe is an unknown user (an empty
// profile, refused as such), while any other failure stays a failure.
import test from 'ava';
import { contactProfile } from '../bot/core/identity.ts';

class NotVisible extends Error {}
const unavailable = (err: unknown) => err instanceof NotVisible;

const TABLE: [string, () => Promise<{ email?: string | null; locale?: string | null } | null>, object][] = [
  ['an e-mail and a locale (Slack)', async () => ({ email: 'a@example.com', locale: 'en-GB' }), { email: 'a@example.com', locale: 'en-GB' }],
  ['an e-mail only (DingTalk, WeCom, Lark)', async () => ({ email: 'a@example.com' }), { email: 'a@example.com' }],
  ['empty and null fields say nothing', async () => ({ email: '', locale: null }), {}],
  ['a user the API does not know (DingTalk: null)', async () => null, {}],
  ['a user the platform will not describe', async () => { throw new NotVisible(); }, {}],
];
for (const [what, read, want] of TABLE) test(`contact profile: ${what}`, async (t) => t.deepEqual(await contactProfile(read, unavailable), want));

test('contact profile: any other failure is one (the turn fails, the user is not taken for unknown)', async (t) => {
  await t.throwsAsync(contactProfile(async () => { throw new Error('timeout'); }, unavailable), { message: 'timeout' });
  await t.throwsAsync(contactProfile(async () => { throw new NotVisible(); }), { instanceOf: NotVisible }, 'without the platform\'s rule, nothing is unavailable');
});
