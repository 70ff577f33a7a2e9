// The demo company's staff: a small FIXED table (it does not depend on the seed), so tests, policies and
// UI examples can log in as "the sales rep" or "the finance head" by name:
//
//   import { demoEmployee } from '../bot/store/demo-company.ts';
//   const rep = demoEmployee('salesRep');   // 张伟, E-0012, sales staff, east, reports to salesLeadEast
//
// Every operating department (sales, marketing, support, orders, finance, legal) has a head, a lead and
// staff; staff report to their lead, leads to their head. Plus an admin (department `it`), an auditor and
// a DPO (department `compliance`), and two external guests (`external: true`). Each employee has exactly
// one role; policies grant what a role may do. E-mails are `<given>.<surname>@demo.custos.local`.
import type { Department, Employee, Region, Role } from '../core/domain.ts';

export const DEMO_EMAIL_DOMAIN = 'demo.custos.local';

interface Row {
  key: string;
  id: number;
  name: string;
  login: string; // local part of the e-mail
  department: Department;
  role: Role;
  region: Region;
  manager?: string; // key of the manager
  timezone?: string;
  locale?: 'zh-CN' | 'en';
  external?: boolean;
}

const ROWS = [
  { key: 'admin', id: 1, name: '陈静', login: 'chen.jing', department: 'it', role: 'admin', region: 'east' },
  { key: 'auditor', id: 2, name: '刘洋', login: 'liu.yang', department: 'compliance', role: 'auditor', region: 'north' },
  { key: 'dpo', id: 3, name: '欧阳明', login: 'ouyang.ming', department: 'compliance', role: 'dpo', region: 'north' },

  { key: 'salesHead', id: 10, name: '王伟', login: 'wang.wei', department: 'sales', role: 'head', region: 'east' },
  { key: 'salesLeadEast', id: 11, name: '李娜', login: 'li.na', department: 'sales', role: 'lead', region: 'east', manager: 'salesHead' },
  { key: 'salesRep', id: 12, name: '张伟', login: 'zhang.wei', department: 'sales', role: 'staff', region: 'east', manager: 'salesLeadEast' },
  { key: 'salesRepNorth', id: 13, name: '赵敏', login: 'zhao.min', department: 'sales', role: 'staff', region: 'north', manager: 'salesLeadEast' },
  { key: 'salesLeadSouth', id: 14, name: '周杰', login: 'zhou.jie', department: 'sales', role: 'lead', region: 'south', manager: 'salesHead' },
  { key: 'salesRepSouth', id: 15, name: '孙丽', login: 'sun.li', department: 'sales', role: 'staff', region: 'south', manager: 'salesLeadSouth' },
  { key: 'salesRepWest', id: 16, name: '司马云', login: 'sima.yun', department: 'sales', role: 'staff', region: 'west', manager: 'salesLeadSouth' },
  { key: 'salesRepOverseas', id: 17, name: 'Emily Carter', login: 'emily.carter', department: 'sales', role: 'staff', region: 'overseas', manager: 'salesLeadSouth', timezone: 'America/Los_Angeles', locale: 'en' },

  { key: 'marketingHead', id: 20, name: '黄磊', login: 'huang.lei', department: 'marketing', role: 'head', region: 'east' },
  { key: 'marketingLead', id: 21, name: '吴婷', login: 'wu.ting', department: 'marketing', role: 'lead', region: 'east', manager: 'marketingHead' },
  { key: 'marketingStaff', id: 22, name: '郑浩', login: 'zheng.hao', department: 'marketing', role: 'staff', region: 'central', manager: 'marketingLead' },

  { key: 'supportHead', id: 30, name: '马超', login: 'ma.chao', department: 'support', role: 'head', region: 'south' },
  { key: 'supportLead', id: 31, name: '何欣', login: 'he.xin', department: 'support', role: 'lead', region: 'south', manager: 'supportHead' },
  { key: 'supportAgent', id: 32, name: '林峰', login: 'lin.feng', department: 'support', role: 'staff', region: 'south', manager: 'supportLead' },
  { key: 'supportAgentEn', id: 33, name: 'James Wilson', login: 'james.wilson', department: 'support', role: 'staff', region: 'overseas', manager: 'supportLead', timezone: 'Europe/London', locale: 'en' },

  { key: 'ordersHead', id: 40, name: '高翔', login: 'gao.xiang', department: 'orders', role: 'head', region: 'central' },
  { key: 'ordersLead', id: 41, name: '罗敏', login: 'luo.min', department: 'orders', role: 'lead', region: 'central', manager: 'ordersHead' },
  { key: 'ordersClerk', id: 42, name: '梁静', login: 'liang.jing', department: 'orders', role: 'staff', region: 'central', manager: 'ordersLead' },

  { key: 'financeHead', id: 50, name: '宋佳', login: 'song.jia', department: 'finance', role: 'head', region: 'north' },
  { key: 'financeLead', id: 51, name: '谢涛', login: 'xie.tao', department: 'finance', role: 'lead', region: 'north', manager: 'financeHead' },
  { key: 'financeClerk', id: 52, name: '韩雪', login: 'han.xue', department: 'finance', role: 'staff', region: 'north', manager: 'financeLead' },

  { key: 'legalHead', id: 60, name: '诸葛亮', login: 'zhuge.liang', department: 'legal', role: 'head', region: 'north' },
  { key: 'legalLead', id: 61, name: '唐宁', login: 'tang.ning', department: 'legal', role: 'lead', region: 'north', manager: 'legalHead' },
  { key: 'legalCounsel', id: 62, name: '冯磊', login: 'feng.lei', department: 'legal', role: 'staff', region: 'east', manager: 'legalLead' },

  { key: 'guestPartner', id: 90, name: 'Daniel Kim', login: 'daniel.kim', department: 'sales', role: 'staff', region: 'overseas', timezone: 'Asia/Seoul', locale: 'en', external: true },
  { key: 'guestConsultant', id: 91, name: '杜明', login: 'du.ming', department: 'support', role: 'staff', region: 'east', external: true },
] as const satisfies readonly Row[];

export type DemoEmployeeKey = (typeof ROWS)[number]['key'];

export function demoEmployeeId(n: number): string {
  return `E-${String(n).padStart(4, '0')}`;
}

function toEmployee(row: Row): Employee {
  const manager = row.manager ? ROWS.find((r) => r.key === row.manager) : undefined;
  const e: Employee = {
    employeeId: demoEmployeeId(row.id),
    email: `${row.login}@${DEMO_EMAIL_DOMAIN}`,
    name: row.name,
    department: row.department,
    roles: [row.role],
    region: row.region,
    timezone: row.timezone ?? 'Asia/Shanghai',
    locale: row.locale ?? 'zh-CN',
    status: 'active',
    external: row.external ?? false,
    chat: {},
  };
  if (manager) e.managerId = demoEmployeeId(manager.id);
  return e;
}

/** The demo staff, keyed by what they are ("salesRep", "financeHead", …). Fresh copies on every call. */
export function demoEmployees(): Record<DemoEmployeeKey, Employee> {
  return Object.fromEntries(ROWS.map((r) => [r.key, toEmployee(r)])) as Record<DemoEmployeeKey, Employee>;
}

/** One demo employee by key, e.g. `demoEmployee('financeHead')`. */
export function demoEmployee(key: DemoEmployeeKey): Employee {
  const row = ROWS.find((r) => r.key === key);
  if (!row) throw new Error(`no demo employee "${key}"`);
  return toEmployee(row);
}

/** All demo employees in id order. */
export function demoEmployeeList(): Employee[] {
  return ROWS.map(toEmployee);
}

/** Sales staff and leads who own customers in the demo data (internal only: guests own nothing). */
export function demoAccountOwners(): Employee[] {
  return ROWS.filter((r) => r.department === 'sales' && (r.role === 'staff' || r.role === 'lead') && !('external' in r && r.external))
    .map(toEmployee);
}
