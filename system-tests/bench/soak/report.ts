/** The soak's results as Markdown and as an SVG drawn by hand: p95 per minute, memory over time. */
import type { ClassFigures, MemorySample } from './metrics';

export interface SoakResult {
  options: { db: string; layout: string; users: number; minutes: number; seed: number };
  date: string;
  load: { start: string; end: string };
  classes: Record<string, ClassFigures>;
  api: ClassFigures;
  sync: { count: number; p50: number; p95: number; p99: number };
  apiP95ByMinute: number[];
  syncP95ByMinute: number[];
  samples: MemorySample[];
  warmupSeconds: number;
  memory: { name: string; atWarmupEnd: number; atEnd: number; growthPercent: number; cpuMean: number }[];
  ingestion: { sent: number; failed: number; appeared: number };
  finalized: number;
  loadGenerator: { lagP99Ms: number; lagMaxMs: number; cpuMean: number };
  errorKinds: Record<string, Record<string, number>>;
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const mb = (v: number) => (v / 1024 / 1024).toFixed(0);

export function markdown(r: SoakResult): string {
  const lines = [
    `#### ${r.options.db}, layout ${r.options.layout}: ${r.options.users} users, ${r.options.minutes} min (${r.date})`,
    '',
    `Load average at start ${r.load.start}, at end ${r.load.end}. Warm-up: first ${r.warmupSeconds} s. Load generator: one process, CPU ${(r.loadGenerator.cpuMean * 100).toFixed(0)} % of a core, event-loop lag p99 ${ms(r.loadGenerator.lagP99Ms)} ms.`,
    '',
    '| request class | count | errors | p50 ms | p95 ms | p99 ms |',
    '|---|---|---|---|---|---|',
    ...Object.entries(r.classes).map(([k, c]) => `| ${k} | ${c.count} | ${c.errors} | ${ms(c.p50)} | ${ms(c.p95)} | ${ms(c.p99)} |`),
    `| **all API requests but login** | ${r.api.count} | ${r.api.errors} | ${ms(r.api.p50)} | **${ms(r.api.p95)}** | ${ms(r.api.p99)} |`,
    `| **sync propagation** | ${r.sync.count} | ${r.classes['sync-propagation']?.errors ?? 0} | ${ms(r.sync.p50)} | **${ms(r.sync.p95)}** | ${ms(r.sync.p99)} |`,
    '',
    '| process | memory at warm-up end MB | at end MB | growth | mean CPU (1 = a core) |',
    '|---|---|---|---|---|',
    ...r.memory.map(
      (m) => `| ${m.name} | ${mb(m.atWarmupEnd)} | ${mb(m.atEnd)} | ${m.growthPercent.toFixed(1)} % | ${m.cpuMean.toFixed(2)} |`,
    ),
    '',
    `Background ingestion: ${r.ingestion.sent} studies sent by storescu (${r.ingestion.failed} failed), ${r.ingestion.appeared} on the worklist at the end. Reports finalized: ${r.finalized}.`,
  ];
  const kinds = Object.entries(r.errorKinds);
  if (kinds.length > 0) lines.push('', `Errors by kind: ${kinds.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('; ')}.`);
  return lines.join('\n');
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** One panel: lines over x with axes, ticks and a legend. */
function panel(
  top: number,
  title: string,
  yLabel: string,
  series: { name: string; points: [number, number][] }[],
  xMax: number,
  xLabel: string,
  goal?: number,
): string {
  const left = 70;
  const width = 620;
  const height = 220;
  const values = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const yMax = Math.max(goal ?? 0, ...values, 1) * 1.1;
  const x = (v: number) => left + (v / Math.max(xMax, 1)) * width;
  const y = (v: number) => top + height - (v / yMax) * height;
  const out = [
    `<text x="${left}" y="${top - 12}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${left}" y1="${top + height}" x2="${left + width}" y2="${top + height}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + height}" stroke="#333"/>`,
    `<text x="${left + width / 2}" y="${top + height + 34}" font-size="11" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text x="14" y="${top + height / 2}" font-size="11" transform="rotate(-90 14 ${top + height / 2})" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const v = (yMax / 4) * i;
    out.push(
      `<line x1="${left}" y1="${y(v)}" x2="${left + width}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(0)}</text>`,
    );
    const xv = (xMax / 4) * i;
    out.push(`<text x="${x(xv)}" y="${top + height + 16}" font-size="10" text-anchor="middle">${xv.toFixed(xMax < 8 ? 1 : 0)}</text>`);
  }
  if (goal !== undefined)
    out.push(
      `<line x1="${left}" y1="${y(goal)}" x2="${left + width}" y2="${y(goal)}" stroke="#999" stroke-dasharray="4 3"/>`,
      `<text x="${left + width - 4}" y="${y(goal) - 4}" font-size="10" text-anchor="end" fill="#666">goal ${goal}</text>`,
    );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([, v]) => Number.isFinite(v));
    if (pts.length > 0)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`,
        ...pts.map(([a, b]) => `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="2.5" fill="${color}"/>`),
      );
    out.push(
      `<rect x="${left + width + 12}" y="${top + i * 16}" width="10" height="10" fill="${color}"/>`,
      `<text x="${left + width + 26}" y="${top + i * 16 + 9}" font-size="11">${escapeXml(s.name)}</text>`,
    );
  });
  return out.join('\n');
}

export function svg(r: SoakResult): string {
  const minutes = r.apiP95ByMinute.length;
  const latency = panel(
    50,
    `p95 per minute — ${r.options.db}, layout ${r.options.layout}, ${r.options.users} users`,
    'ms',
    [
      { name: 'API (all requests)', points: r.apiP95ByMinute.map((v, i) => [i + 1, v] as [number, number]) },
      { name: 'sync propagation', points: r.syncP95ByMinute.map((v, i) => [i + 1, v] as [number, number]) },
    ],
    minutes,
    'minute of the run',
    100,
  );
  const names = Object.keys(r.samples[0]?.memory ?? {});
  const tMax = (r.samples.at(-1)?.t ?? 60) / 60;
  const memory = panel(
    360,
    'memory per process (MB; PSS, process group of each service)',
    'MB',
    names.map((name) => ({ name, points: r.samples.map((s) => [s.t / 60, (s.memory[name] ?? 0) / 1024 / 1024] as [number, number]) })),
    tMax,
    `minutes since the load began (warm-up: first ${(r.warmupSeconds / 60).toFixed(1)})`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="660" font-family="sans-serif" viewBox="0 0 860 660">
<title>${escapeXml(`Soak, ${r.options.db}, layout ${r.options.layout}, ${r.options.users} users: p95 per minute and memory per process`)}</title>
<rect width="860" height="660" fill="#fff"/>
${latency}
${memory}
</svg>
`;
}
