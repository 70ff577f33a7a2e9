// The English-locale scenario of the shared list (run.ts runs it on every platform): employees whose
// locale is `en` read the bot in English on every platform (their employee record decides, not the
// platform), while the Chinese approver of their request reads it in Chinese.
import { approval, withoutIdsAndTimes } from './approvals.ts';
import { observed, type Scenario } from './lookup.ts';

export const LOCALE_SCENARIOS: Scenario[] = [
  {
    name: 'en locale: an English-speaking agent\'s lookups and help, a request denied in Chinese and told in English',
    // supportAgentEn: lookup with a purpose (query, shown), by phone (query, shown), help (nothing);
    // salesRepOverseas: lookup (query, shown), request.create, the Deny attempt (request.vote), request.deny.
    auditRecords: 9,
    async run(d, ctx) {
      const c = ctx.customers.find((x) => x.region === 'overseas' && x.ownerId !== ctx.employeeId('salesRepOverseas') && x.phone && x.status !== 'blocked');
      if (!c) throw new Error('no overseas customer in the seed');
      const lookup = observed(await d.lookupInDm('supportAgentEn', `${c.customerId} purpose: renewal follow-up`));
      const byPhone = observed(await d.lookupInDm('supportAgentEn', c.phone!));
      // The help's title (its lines are markup each platform renders its own way).
      const help = (await d.lookupInDm('supportAgentEn', 'help')).title;
      const { requestId, approverCard } = await d.requestAccess('salesRepOverseas', c.customerId, ['contact'], 'renewal call', 60, 'salesLeadSouth');
      const denied = await d.deny('salesLeadSouth', requestId, 'not your account', 'salesRepOverseas');
      return withoutIdsAndTimes({
        lookup, byPhone, help, approverCard: approval(approverCard),
        copies: denied.copies.map(approval).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), told: denied.told,
      });
    },
  },
];
