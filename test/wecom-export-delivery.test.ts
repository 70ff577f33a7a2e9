// WeCom's export delivery (bot/wecom/export-delivery.ts) and its API calls against the fake WeCom API,
// which holds them to WeCom's documented shapes: media/upload?type=file as multipart/form-data with one
// `media` part carrying filename and filelength, at most 20 MB and more than 5 bytes; then message/send
// with msgtype `file` and that media_id, which lives 3 days.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Employee } from '../bot/core/domain.ts';
import { createLogger } from '../bot/logger.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';
import { FILE_BYTES, WeComApi, WeComApiError } from '../bot/wecom/api.ts';
import { wecomExportDelivery } from '../bot/wecom/export-delivery.ts';
import { FakeWeComApi, MEDIA_FILE_MAX, MEDIA_TTL_MS } from './fakes/wecom.ts';

const fake = new FakeWeComApi([{ userid: 'wc_lead' }]);
const lead: Employee = { ...demoEmployees().salesLeadEast, chat: { wecom: 'wc_lead' } };
let clock = Date.parse('2026-06-30T02:30:00Z');
let api: WeComApi;
let dir = '';

test.before(async () => {
  await fake.start();
  fake.now = () => clock;
  api = new WeComApi({ corpId: fake.corpId, secret: fake.secret, agentId: fake.agentId, apiUrl: fake.url }, createLogger({ level: 'silent' }), () => clock);
  dir = await mkdtemp(join(tmpdir(), 'custos-wecom-export-'));
});
test.after.always(async () => { await fake.stop(); await rm(dir, { recursive: true, force: true }); });

test.serial('an export: "exporting" when it starts, no message per progress count, the file as a 保密 file message with its name and bytes, then the final line', async (t) => {
  const delivery = wecomExportDelivery(api);
  const csv = Buffer.from('\ufeff客户编号,名称\r\nC-000001,上海某某\r\n', 'utf8');
  const file = join(dir, 'a.csv');
  await writeFile(file, csv);
  const sent = fake.messages.length;
  const handle = await delivery.start(lead, '正在导出 X-1…');
  await delivery.progress(handle, '正在导出 X-1：已写 5000 行');
  const mediaId = await delivery.upload(lead, file, 'custos-export-X-1.csv');
  await delivery.progress(handle, '导出 X-1 完成：1 行');
  const mine = fake.messages.slice(sent);
  t.deepEqual(mine.map((m) => [m.touser, m.msgtype, m.text ?? m.file?.filename]), [
    ['wc_lead', 'text', '正在导出 X-1…'], ['wc_lead', 'file', 'custos-export-X-1.csv'], ['wc_lead', 'text', '导出 X-1 完成：1 行'],
  ]);
  t.true(mine[1]!.file!.bytes.equals(csv), 'the bytes as written, BOM included');
  t.is(mine[1]!.file!.safe, 1, 'sent 保密: watermarked, not forwardable');
  t.is(mine[1]!.file!.mediaId, mediaId!, 'the export record keeps the media_id');
  t.is(fake.apiCalls('media/upload').at(-1)!.query.type, 'file');
});

test.serial('a file over 20 MB is refused before anything is uploaded; the fake refuses it too, and a tiny one', async (t) => {
  const delivery = wecomExportDelivery(api);
  const big = join(dir, 'big.csv');
  await writeFile(big, Buffer.alloc(FILE_BYTES.max + 1, 0x41));
  const uploads = fake.apiCalls('media/upload').length;
  const err = await t.throwsAsync(delivery.upload(lead, big, 'big.csv'));
  t.true(err instanceof WeComApiError && err.code === 40006);
  t.is(fake.apiCalls('media/upload').length, uploads, 'nothing left custos');
  t.is(FILE_BYTES.max, MEDIA_FILE_MAX, 'custos and the fake hold the same documented limit');
  // The fake's own check, with a client that does not check first.
  const form = new FormData();
  form.append('media', new Blob([Buffer.alloc(MEDIA_FILE_MAX + 1)]), 'big.csv');
  const token = await (await fetch(`${fake.url}/cgi-bin/gettoken?corpid=${fake.corpId}&corpsecret=${fake.secret}`)).json() as { access_token: string };
  const answer = async (body: FormData) => (await (await fetch(`${fake.url}/cgi-bin/media/upload?type=file&access_token=${token.access_token}`, { method: 'POST', body })).json()) as { errcode: number; media_id?: string };
  t.is((await answer(form)).errcode, 40006);
  const tiny = new FormData();
  tiny.append('media', new Blob([Buffer.from('12345')]), 'tiny.csv');
  t.is((await answer(tiny)).errcode, 40006, '5 bytes is too small');
  const unnamed = new FormData();
  unnamed.append('file', new Blob([Buffer.from('123456')]), 'x.csv');
  t.is((await answer(unnamed)).errcode, 41005, 'the part must be named media');
});

test.serial('a media_id older than 3 days is refused (40007): the file message must follow its upload', async (t) => {
  const media = fake.media;
  const ok = await api.sendFile('wc_lead', 'ok.csv', Buffer.from('a,b\r\n1,2\r\n'));
  t.true(media.has(ok.mediaId));
  clock += MEDIA_TTL_MS + 60_000;
  const token = await (await fetch(`${fake.url}/cgi-bin/gettoken?corpid=${fake.corpId}&corpsecret=${fake.secret}`)).json() as { access_token: string };
  const res = await fetch(`${fake.url}/cgi-bin/message/send?access_token=${token.access_token}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ touser: 'wc_lead', msgtype: 'file', agentid: fake.agentId, file: { media_id: ok.mediaId } }),
  });
  t.is(((await res.json()) as { errcode: number }).errcode, 40007);
});
