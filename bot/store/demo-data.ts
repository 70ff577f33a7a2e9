// Deterministic demo customers: realistic zh-CN and English names (compound surnames included),
// companies, regions with matching addresses and area codes, format-valid fake phones (real Chinese
// mobile prefixes), 18-character resident IDs with a correct check character and a birth date that
// matches `birthDate`, bank cards with a valid Luhn digit, and data in every field group. Same seed →
// same customers. E-mail domains are the reserved example.* domains, so no real mailbox is named.
import type { Contract, Customer, FollowUp, Region } from '../core/domain.ts';
import { CREDIT_RATINGS, PAYMENT_STATUSES, SALES_STAGES } from '../core/domain.ts';
import { idCheckChar, luhnCheckDigit } from './crypto.ts';
import { demoAccountOwners } from './demo-company.ts';
import { Prng } from './prng.ts';

/** Dates in the demo data count back from here (not from "now"), so the data does not depend on the day. */
export const DEMO_EPOCH = Date.UTC(2026, 5, 30);
const DAY = 86_400_000;

const SURNAMES: [string, string][] = [
  ['王', 'wang'], ['李', 'li'], ['张', 'zhang'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'], ['黄', 'huang'], ['赵', 'zhao'],
  ['吴', 'wu'], ['周', 'zhou'], ['徐', 'xu'], ['孙', 'sun'], ['马', 'ma'], ['朱', 'zhu'], ['胡', 'hu'], ['郭', 'guo'], ['何', 'he'],
  ['林', 'lin'], ['罗', 'luo'], ['高', 'gao'], ['郑', 'zheng'], ['梁', 'liang'], ['谢', 'xie'], ['宋', 'song'], ['唐', 'tang'],
  ['韩', 'han'], ['冯', 'feng'], ['邓', 'deng'], ['曹', 'cao'], ['彭', 'peng'],
];
const COMPOUND_SURNAMES: [string, string][] = [
  ['欧阳', 'ouyang'], ['司马', 'sima'], ['上官', 'shangguan'], ['诸葛', 'zhuge'], ['东方', 'dongfang'], ['慕容', 'murong'], ['皇甫', 'huangfu'],
];
const GIVEN: [string, string][] = [
  ['伟', 'wei'], ['芳', 'fang'], ['娜', 'na'], ['敏', 'min'], ['静', 'jing'], ['丽', 'li'], ['强', 'qiang'], ['磊', 'lei'], ['军', 'jun'],
  ['洋', 'yang'], ['勇', 'yong'], ['艳', 'yan'], ['杰', 'jie'], ['娟', 'juan'], ['涛', 'tao'], ['明', 'ming'], ['超', 'chao'], ['秀', 'xiu'],
  ['霞', 'xia'], ['平', 'ping'], ['刚', 'gang'], ['英', 'ying'], ['华', 'hua'], ['玉', 'yu'], ['兰', 'lan'], ['建', 'jian'], ['国', 'guo'],
  ['文', 'wen'], ['辉', 'hui'], ['鹏', 'peng'], ['晨', 'chen'], ['宇', 'yu'], ['欣', 'xin'], ['怡', 'yi'], ['婷', 'ting'], ['浩', 'hao'],
  ['博', 'bo'], ['子', 'zi'], ['轩', 'xuan'], ['萱', 'xuan'], ['思', 'si'], ['嘉', 'jia'], ['琳', 'lin'], ['俊', 'jun'],
];
const EN_FIRST = ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William',
  'Susan', 'Richard', 'Jessica', 'Thomas', 'Sarah', 'Daniel', 'Karen', 'Matthew', 'Emily', 'Olivia', 'Lucas', 'Sophie', 'Henry'];
const EN_LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor',
  'Thomas', 'Moore', 'Martin', 'Lee', 'Clark', 'Walker', 'Young', 'King', 'Wright', "O'Brien", 'Müller'];

const BRANDS: [string, string][] = [
  ['星河', 'xinghe'], ['华信', 'huaxin'], ['锦程', 'jincheng'], ['远航', 'yuanhang'], ['瑞丰', 'ruifeng'], ['鼎盛', 'dingsheng'],
  ['蓝海', 'lanhai'], ['恒通', 'hengtong'], ['天宇', 'tianyu'], ['新元', 'xinyuan'], ['博远', 'boyuan'], ['中和', 'zhonghe'],
  ['金桥', 'jinqiao'], ['云帆', 'yunfan'], ['安泰', 'antai'], ['河科', 'heke'],
];
const COMPANY_KINDS: [string, string][] = [
  ['科技', '互联网'], ['贸易', '零售'], ['电子', '制造业'], ['物流', '物流'], ['医疗器械', '医疗'], ['教育咨询', '教育'],
  ['食品', '食品饮料'], ['新能源', '能源'], ['信息技术', '互联网'], ['建材', '建筑'], ['投资', '金融'],
];
const EN_BRANDS = ['Acme', 'Globex', 'Initech', 'Northwind', 'Contoso', 'Fabrikam', 'Pioneer', 'Summit', 'Blue Harbor', 'Evergreen'];
const EN_KINDS: [string, string][] = [['Trading', 'retail'], ['Logistics', 'logistics'], ['Technologies', 'internet'], ['Foods', 'food'], ['Medical', 'healthcare']];
const EN_SUFFIX = ['Ltd.', 'Inc.', 'GmbH', 'Pte. Ltd.', '(Asia) Ltd.'];

interface Place { province: string; city: string; district: string; areaCode: string; idArea: string; streets: string[] }
const PLACES: Record<Exclude<Region, 'overseas'>, Place[]> = {
  north: [
    { province: '北京市', city: '', district: '海淀区', areaCode: '010', idArea: '110108', streets: ['中关村大街', '学院路', '知春路'] },
    { province: '北京市', city: '', district: '朝阳区', areaCode: '010', idArea: '110105', streets: ['建国路', '望京街', '三里屯路'] },
    { province: '天津市', city: '', district: '和平区', areaCode: '022', idArea: '120101', streets: ['南京路', '滨江道'] },
  ],
  east: [
    { province: '上海市', city: '', district: '徐汇区', areaCode: '021', idArea: '310104', streets: ['漕溪北路', '衡山路', '虹桥路'] },
    { province: '上海市', city: '', district: '浦东新区', areaCode: '021', idArea: '310115', streets: ['世纪大道', '张江路', '陆家嘴环路'] },
    { province: '浙江省', city: '杭州市', district: '西湖区', areaCode: '0571', idArea: '330106', streets: ['文三路', '天目山路'] },
    { province: '江苏省', city: '南京市', district: '鼓楼区', areaCode: '025', idArea: '320106', streets: ['中山北路', '湖南路'] },
  ],
  south: [
    { province: '广东省', city: '广州市', district: '天河区', areaCode: '020', idArea: '440106', streets: ['天河路', '体育西路', '珠江新城花城大道'] },
    { province: '广东省', city: '深圳市', district: '南山区', areaCode: '0755', idArea: '440305', streets: ['科技园南路', '深南大道', '后海大道'] },
  ],
  west: [
    { province: '四川省', city: '成都市', district: '武侯区', areaCode: '028', idArea: '510107', streets: ['人民南路', '科华北路'] },
    { province: '重庆市', city: '', district: '渝中区', areaCode: '023', idArea: '500103', streets: ['解放碑步行街', '中山三路'] },
    { province: '陕西省', city: '西安市', district: '雁塔区', areaCode: '029', idArea: '610113', streets: ['高新路', '小寨东路'] },
  ],
  central: [
    { province: '湖北省', city: '武汉市', district: '洪山区', areaCode: '027', idArea: '420111', streets: ['珞喻路', '光谷大道'] },
    { province: '湖南省', city: '长沙市', district: '岳麓区', areaCode: '0731', idArea: '430104', streets: ['麓山南路', '桐梓坡路'] },
  ],
};
const OVERSEAS_ADDRESSES = ['12 Orchard Road, Singapore 238824', '350 Fifth Avenue, New York, NY 10118', '1 Market Street, San Francisco, CA 94105',
  '25 Canada Square, London E14 5LQ', 'Friedrichstraße 43, 10117 Berlin', '2-1-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005'];
const REGION_LIST = ['north', 'east', 'south', 'west', 'central', 'overseas'] as const;

const MOBILE_PREFIXES = ['130', '131', '132', '133', '135', '136', '137', '138', '139', '145', '147', '150', '151', '152', '153', '155',
  '156', '157', '158', '159', '166', '173', '175', '176', '177', '178', '180', '181', '182', '183', '185', '186', '187', '188', '189',
  '191', '198', '199'];
const CARD_BINS = ['622202', '621700', '622848', '621661', '622588', '621483', '622260'];
const EMAIL_DOMAINS = ['example.com', 'example.cn', 'example.net', 'mail.example.org'];
const LEAD_SOURCES = ['展会', '官网', '转介绍', '电话营销', '线上广告', '合作伙伴', 'webinar', 'partner referral'];
const CAMPAIGNS = ['2025双十一', '2026春季新品', '618年中大促', '老客户回馈', 'Q3 webinar series', '行业峰会2026'];
const INTERESTS = ['云服务', '数据分析', '企业培训', '智能硬件', '供应链金融', 'CRM', '安全合规', 'SaaS'];
const FOLLOW_UP_NOTES = ['电话沟通需求', '发送报价单', '上门拜访', '演示产品', '确认合同条款', 'Sent proposal by e-mail', 'Follow-up call'];
const AFTER_SALES_NOTES = ['需要上门培训', '对响应速度满意', '希望增加中文文档', '设备安装已完成', 'Asked for an on-site visit', '续约意向强'];
const CONTRACT_TITLES = ['年度服务合同', '设备采购合同', '软件许可协议', '技术支持协议', 'Master services agreement'];
const DISPUTES = ['逾期付款争议', '交付延迟索赔', '发票金额争议', 'Warranty claim under review'];
const TIERS = ['standard', 'standard', 'standard', 'silver', 'silver', 'gold', 'platinum'] as const;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function demoCustomerId(n: number): string {
  return `C-${pad(n, 6)}`;
}

function mobile(rng: Prng): string {
  return rng.pick(MOBILE_PREFIXES) + rng.digits(8);
}

function landline(rng: Prng, areaCode: string): string {
  return `${areaCode}-${rng.int(2, 8)}${rng.digits(areaCode.length === 3 ? 7 : 6)}`;
}

function residentId(rng: Prng, idArea: string, birth: Date): string {
  const ymd = birth.toISOString().slice(0, 10).replace(/-/g, '');
  const first17 = `${idArea}${ymd}${rng.digits(3)}`;
  return first17 + idCheckChar(first17);
}

function bankCard(rng: Prng): string {
  const payload = rng.pick(CARD_BINS) + rng.digits(rng.chance(0.6) ? 12 : 9);
  return payload + luhnCheckDigit(payload);
}

function zhName(rng: Prng): { name: string; given: string; family: string } {
  const [family, familyPy] = rng.chance(0.08) ? rng.pick(COMPOUND_SURNAMES) : rng.pick(SURNAMES);
  const chars = Array.from({ length: rng.chance(0.7) ? 2 : 1 }, () => rng.pick(GIVEN));
  return { name: family + chars.map((c) => c[0]).join(''), given: chars.map((c) => c[1]).join(''), family: familyPy };
}

function zhCompany(rng: Prng, place: Place | undefined): { company: string; industry: string; domainWord: string } {
  const [brand, brandPy] = rng.pick(BRANDS);
  const [kind, industry] = rng.pick(COMPANY_KINDS);
  const city = place ? (place.city || place.province).replace(/[市省]$/, '') : '';
  return { company: `${city}${brand}${kind}${rng.chance(0.2) ? '股份有限公司' : '有限公司'}`, industry, domainWord: brandPy };
}

function enCompany(rng: Prng): { company: string; industry: string; domainWord: string } {
  const brand = rng.pick(EN_BRANDS);
  const [kind, industry] = rng.pick(EN_KINDS);
  return { company: `${brand} ${kind} ${rng.pick(EN_SUFFIX)}`, industry, domainWord: brand.toLowerCase().replace(/\s+/g, '') };
}

function daysBefore(rng: Prng, maxDays: number): Date {
  return new Date(DEMO_EPOCH - rng.int(0, maxDays) * DAY - rng.int(0, 23) * 3_600_000);
}

function address(rng: Prng, region: Region, place: Place | undefined): string {
  if (region === 'overseas' || !place) return rng.pick(OVERSEAS_ADDRESSES);
  const room = rng.chance(0.5) ? `${rng.int(1, 30)}栋${rng.int(1, 30)}${pad(rng.int(1, 20), 2)}室` : '';
  return `${place.province}${place.city}${place.district}${rng.pick(place.streets)}${rng.int(1, 999)}号${room}`;
}

/** Customers C-000001 … C-<count>, one at a time (so 100,000 of them need no more memory than one). */
export function* demoCustomers(count: number, seed: string): Generator<Customer> {
  const rng = new Prng(`customers:${seed}`);
  const owners = demoAccountOwners();
  for (let i = 1; i <= count; i++) yield demoCustomer(rng, i, owners[(i - 1) % owners.length]!);
}

function demoCustomer(rng: Prng, n: number, owner: { employeeId: string; region: Region }): Customer {
  const region: Region = rng.chance(0.75) ? owner.region : rng.pick(REGION_LIST);
  const place = region === 'overseas' ? undefined : rng.pick(PLACES[region]);
  const anyPlace = place ?? rng.pick(PLACES[rng.pick(['north', 'east', 'south', 'west', 'central'] as const)]);
  const roll = rng.next();
  const kind: 'zh' | 'en' | 'company' = roll < 0.68 ? 'zh' : roll < 0.82 ? 'en' : 'company';
  const zhFlavour = kind === 'zh' || (kind === 'company' && region !== 'overseas');
  const employer = zhFlavour ? zhCompany(rng, place) : enCompany(rng);

  const c: Customer = {
    customerId: demoCustomerId(n),
    name: '',
    type: kind === 'company' ? 'company' : 'person',
    region,
    tier: rng.pick(TIERS),
    ownerId: owner.employeeId,
    status: rng.pick(['lead', 'active', 'active', 'active', 'churned', 'blocked'] as const),
  };
  const domain = rng.pick(EMAIL_DOMAINS);
  if (kind === 'zh') {
    const p = zhName(rng);
    c.name = p.name;
    c.email = `${p.given}.${p.family}${rng.chance(0.5) ? rng.int(1, 99) : ''}@${domain}`;
    c.wechat = rng.chance(0.6) ? `wxid_${p.given}${rng.digits(4)}` : undefined;
    const birth = new Date(Date.UTC(rng.int(1955, 2003), rng.int(0, 11), rng.int(1, 28)));
    c.birthDate = birth.toISOString().slice(0, 10);
    c.idNumber = residentId(rng, anyPlace.idArea, birth);
  } else if (kind === 'en') {
    const first = rng.pick(EN_FIRST);
    const last = rng.pick(EN_LAST);
    c.name = `${first} ${last}`;
    c.email = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + `@${domain}`;
    c.birthDate = new Date(Date.UTC(rng.int(1955, 2003), rng.int(0, 11), rng.int(1, 28))).toISOString().slice(0, 10);
  } else {
    c.name = employer.company;
    c.email = `${rng.pick(['info', 'sales', 'finance', 'contact'])}@${employer.domainWord}.${domain}`;
  }
  if (kind !== 'company' && rng.chance(0.7)) c.company = employer.company;
  if (c.type === 'company' || c.company) c.industry = employer.industry;
  c.phone = kind === 'company' && rng.chance(0.6) ? landline(rng, anyPlace.areaCode) : mobile(rng);
  if (rng.chance(0.15)) delete c.email;
  if (rng.chance(0.9)) c.address = address(rng, region, place);
  if (c.wechat === undefined) delete c.wechat;

  // marketing
  c.leadSource = rng.pick(LEAD_SOURCES);
  c.campaigns = rng.some(CAMPAIGNS, 0, 2);
  c.interests = rng.some(INTERESTS, 1, 3);
  // sales
  c.stage = c.status === 'lead' ? rng.pick(['prospect', 'qualified', 'proposal'] as const) : rng.pick(SALES_STAGES);
  c.pipelineValue = rng.int(1, 400) * 5000;
  c.lastContactAt = daysBefore(rng, 180);
  c.followUps = Array.from({ length: rng.int(0, 3) }, (): FollowUp => ({
    at: daysBefore(rng, 365), by: owner.employeeId, note: rng.pick(FOLLOW_UP_NOTES),
  })).sort((a, b) => a.at.getTime() - b.at.getTime());
  // finance
  const signed = c.status === 'active' || c.stage === 'won' || rng.chance(0.2);
  c.contractAmount = signed ? rng.int(2, 800) * 10_000 : 0;
  c.outstanding = signed && rng.chance(0.4) ? Math.floor(c.contractAmount * rng.int(5, 60) / 100) : 0;
  c.paymentStatus = c.outstanding > 0 ? rng.pick(PAYMENT_STATUSES.filter((s) => s !== 'settled')) : rng.pick(['current', 'settled'] as const);
  c.creditRating = rng.pick(CREDIT_RATINGS);
  if (rng.chance(0.85)) c.bankAccount = bankCard(rng);
  // support
  c.openTickets = rng.chance(0.6) ? 0 : rng.int(1, 6);
  if (c.openTickets > 0 || rng.chance(0.4)) c.lastTicketAt = daysBefore(rng, 120);
  c.satisfaction = rng.int(1, 5);
  if (rng.chance(0.45)) c.afterSalesNotes = rng.pick(AFTER_SALES_NOTES);
  // legal
  c.contracts = signed
    ? Array.from({ length: rng.int(1, 2) }, (_, k): Contract => ({
      contractNo: `HT-${2024 + k}-${pad(n, 6)}`, title: rng.pick(CONTRACT_TITLES), signedAt: daysBefore(rng, 700), amount: c.contractAmount ?? 0,
    }))
    : [];
  c.disputes = rng.chance(0.08) ? [rng.pick(DISPUTES)] : [];
  return c;
}
