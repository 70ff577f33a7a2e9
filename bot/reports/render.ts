// Report files, watermarked like exports (bot/core/export-watermark.ts): a visible header and footer
// naming the report, its recipient and time, and the recipient's invisible marker on every data row
// (zero-width characters after the first cell), so `custos export trace` names the report a leaked
// copy came from. The HTML summary carries the same header and footer, the marker after the report
// id, and a visible diagonal watermark behind the page.
import { createHash } from 'node:crypto';
import { csvCell, encodeMarker, UTF8_BOM } from '../core/export-watermark.ts';
import type { Locale } from '../core/messages.ts';
import { escapeHtml } from '../playground/html.ts';
import { columnTitles, t } from './messages.ts';
import type { Pack, SummaryItem } from './pack.ts';
import { cellText, isoTime, type ReportTable } from './table.ts';

export interface ReportStamp {
  reportId: string;
  kind: 'customer' | 'disclosures' | 'pack';
  period: string;
  recipient: string;
  generatedAt: Date;
  tagId: string;
  key: Buffer; // the watermark key
}

const HTML_ROWS = 50;

function marker(stamp: ReportStamp): string {
  return encodeMarker(stamp.key, stamp.tagId, stamp.reportId, stamp.recipient);
}

function headerLine(stamp: ReportStamp, file: string): string {
  return `# custos report ${stamp.reportId} · ${stamp.kind} ${file} · ${stamp.period} · for ${stamp.recipient} · ${isoTime(stamp.generatedAt)}`;
}

export function csvText(table: ReportTable, stamp: ReportStamp, locale: Locale): string {
  const m = marker(stamp);
  const lines = [
    `${UTF8_BOM}${csvCell(headerLine(stamp, table.file))}`,
    columnTitles(table.columns, locale).map(csvCell).join(','),
    ...table.rows.map((row) => row.map((c, i) => csvCell(i === 0 ? `${cellText(c, locale)}${m}` : cellText(c, locale))).join(',')),
    csvCell(`# end of report ${stamp.reportId} · ${table.rows.length} rows · ${stamp.recipient}`),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export function summaryValue(item: SummaryItem, locale: Locale): string {
  return typeof item.value === 'string' ? item.value : t(item.value.key, locale, item.value.params);
}

export function summaryTable(summary: readonly SummaryItem[], locale: Locale): ReportTable {
  return { file: 'summary.csv', columns: ['item', 'value'], rows: summary.map((s) => [t(s.label, locale), summaryValue(s, locale)]) };
}

function htmlTable(table: ReportTable, locale: Locale): string {
  if (table.rows.length === 0) return `<p class="none">${escapeHtml(t('report.html.none', locale))}</p>`;
  const head = columnTitles(table.columns, locale).map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = table.rows.slice(0, HTML_ROWS).map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(cellText(c, locale))}</td>`).join('')}</tr>`).join('');
  const more = table.rows.length > HTML_ROWS ? `<p class="more">${escapeHtml(t('report.html.more', locale, { n: table.rows.length - HTML_ROWS, file: table.file }))}</p>` : '';
  return `<table data-file="${escapeHtml(table.file)}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

const SECTIONS: [string, string][] = [
  ['checkpoints.csv', 'report.html.chain'], ['policies.csv', 'report.html.policies'], ['access-reviews.csv', 'report.html.reviews'],
  ['freezes.csv', 'report.html.freezes'], ['erasures.csv', 'report.html.erasures'], ['refusals.csv', 'report.html.refusals'],
  ['disclosures.csv', 'report.html.disclosures'],
];

const STYLE = `body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:12px}th,td{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee}dl.summary{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:bold}dd{margin:0;word-break:break-all}
.stamp{color:#555;font-size:12px}.watermark{position:fixed;inset:0;pointer-events:none;overflow:hidden;z-index:-1}
.watermark span{position:absolute;transform:rotate(-30deg);color:rgba(0,0,0,.07);font-size:28px;white-space:nowrap}`;

function watermarkLayer(stamp: ReportStamp, locale: Locale): string {
  const text = escapeHtml(t('report.html.watermark', locale, { id: stamp.reportId, recipient: stamp.recipient, at: isoTime(stamp.generatedAt) }));
  const spans: string[] = [];
  for (let y = 0; y < 6; y++) for (let x = 0; x < 3; x++) spans.push(`<span style="top:${y * 18}%;left:${x * 35 - 10}%">${text}</span>`);
  return `<div class="watermark" aria-hidden="true">${spans.join('')}</div>`;
}

export function packHtml(pack: Pack, stamp: ReportStamp, locale: Locale, files: readonly { file: string; bytes: number; sha256: string }[]): string {
  const stampLine = t('report.html.generated', locale, { id: `${stamp.reportId}${marker(stamp)}`, at: isoTime(stamp.generatedAt), recipient: stamp.recipient });
  const summary = pack.summary.map((s) => `<dt>${escapeHtml(t(s.label, locale))}</dt><dd>${escapeHtml(summaryValue(s, locale))}</dd>`).join('');
  const sections = SECTIONS.map(([file, title]) => {
    const table = pack.tables.find((tb) => tb.file === file);
    return table ? `<section><h2>${escapeHtml(t(title, locale))} <small>${escapeHtml(file)}</small></h2>${htmlTable(table, locale)}</section>` : '';
  }).join('\n');
  const fileRows: ReportTable = { file: 'manifest.csv', columns: ['file', 'bytes', 'sha256'], rows: files.map((f) => [f.file, String(f.bytes), f.sha256]) };
  return `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><title>${escapeHtml(`${t('report.html.title', locale)} ${stamp.reportId}`)}</title><style>${STYLE}</style></head>
<body>${watermarkLayer(stamp, locale)}
<header><p class="stamp">${escapeHtml(headerLine(stamp, `summary.${locale}.html`))}</p><h1>${escapeHtml(t('report.html.title', locale))}</h1>
<p>${escapeHtml(t('report.html.period', locale, { period: stamp.period }))}</p><p class="stamp">${escapeHtml(stampLine)}</p></header>
<section id="summary"><h2>${escapeHtml(t('report.html.summary', locale))}</h2><dl class="summary">${summary}</dl></section>
${sections}
<section><h2>${escapeHtml(t('report.html.files', locale))}</h2>${htmlTable(fileRows, locale)}</section>
<footer><p class="stamp">${escapeHtml(t('report.html.footer', locale, { id: stamp.reportId }))}</p></footer>
</body></html>
`;
}

export function digest(text: string): { bytes: number; sha256: string } {
  const buf = Buffer.from(text, 'utf8');
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
}
