/*
 * bench.js — the Benchmarks page (#/bench, #/bench/<run id>): the `autocoder bench` runs
 * stored in the collector's database (GET /api/v1/bench/runs), newest first, with their
 * baselines and verdicts; the selected run (the newest by default) is drawn as the report
 * draws it: throughput per step, latency percentiles per step, CPU seconds by thread.
 */
import { listBenchRuns } from './api.js';
import { h, s, fmtNum, timeEl, badge, errorBox, hashLink } from './dom.js';

const stepLabel = (st) => (st.mode === 'closed' ? `c=${st.concurrency}` : st.mode === 'open' ? `${Math.round(st.rate)}/s` : 'max');

function median(xs) {
	const v = [...(xs || [])].sort((a, b) => a - b);
	if (!v.length)
		return 0;
	return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/* Lines over the steps: series = [[name, key]]. */
function lineChart(title, steps, series, unit) {
	const W = 560, H = 200, left = 56, bottom = 24, top = 10, plotW = W - left - 90, plotH = H - top - bottom;
	const max = Math.max(1e-9, ...steps.flatMap((st) => series.map(([, k]) => st[k] || 0)));
	const x = (i) => left + (steps.length > 1 ? (plotW * i) / (steps.length - 1) : plotW / 2);
	const y = (v) => top + plotH - (v / max) * plotH;
	const label = `${title}: ` + series.map(([n, k]) => `${n} ${steps.map((st) => `${stepLabel(st)} ${Math.round((st[k] || 0) * 100) / 100}`).join(', ')}`).join('; ');
	const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label }, s('title', null, label));
	svg.append(s('line', { class: 'grid', x1: left, x2: left + plotW, y1: y(max), y2: y(max) }),
		s('text', { class: 'axis', x: left - 4, y: y(max) + 4, 'text-anchor': 'end' }, `${Math.round(max * 100) / 100}${unit}`),
		s('line', { class: 'grid', x1: left, x2: left + plotW, y1: y(0), y2: y(0) }),
		s('text', { class: 'axis', x: left - 4, y: y(0) + 4, 'text-anchor': 'end' }, '0'));
	steps.forEach((st, i) => svg.append(s('text', { class: 'axis', x: x(i), y: H - 6, 'text-anchor': 'middle' }, stepLabel(st))));
	series.forEach(([name, key], k) => {
		svg.append(s('polyline', { class: `series series-${k}`, fill: 'none', 'stroke-width': 2,
			points: steps.map((st, i) => `${x(i)},${y(st[key] || 0)}`).join(' ') }),
		s('text', { class: `axis series-${k}`, x: left + plotW + 8, y: top + 12 + 14 * k }, name));
		steps.forEach((st, i) => svg.append(s('circle', { class: `dot series-${k}`, cx: x(i), cy: y(st[key] || 0), r: 3.5 },
			s('title', null, `${name} at ${stepLabel(st)}: ${Math.round((st[key] || 0) * 100) / 100}${unit}`))));
	});
	return h('figure', null, h('figcaption', null, title), svg);
}

function cpuTable(step) {
	const rows = Object.entries(step.cpu_seconds || {}).sort((a, b) => b[1] - a[1]);
	return h('table', { class: 'data' },
		h('caption', null, `CPU seconds by thread at ${stepLabel(step)}`),
		h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'thread'), h('th', { scope: 'col' }, 'CPU s'))),
		h('tbody', null, rows.map(([t, v]) => h('tr', null, h('td', null, h('code', null, t)), h('td', { class: 'num' }, v.toFixed(2))))));
}

function runDetail(run) {
	const res = run.result || {};
	const steps = res.steps || [];
	const http = res.kind === 'http';
	const sizing = Number.isInteger(res.sizing_step) ? steps[res.sizing_step] : steps[steps.length - 1];
	const crit = (res.criteria || []).map((c) => h('li', null, badge(c.verdict, c.verdict === 'pass' ? 'status-resolved' : 'status-open'), ' ',
		h('code', null, c.criterion), ` ${c.op} ${c.want}, got ${c.got === null ? '–' : Math.round(c.got * 1000) / 1000}`));
	const gate = res.gate ? h('p', null, `Regression gate vs baseline “${res.gate.baseline}”: `, h('strong', null, res.gate.verdict),
		` (median ${fmtNum(Math.round(res.gate.current_median))}/s vs ${fmtNum(Math.round(res.gate.baseline_median))}/s, change ${(res.gate.change * 100).toFixed(1)} %, spread ${(res.gate.spread * 100).toFixed(1)} %)`) : null;
	return h('section', { class: 'bench-run', 'aria-labelledby': 'bench-run-title' },
		h('h2', { id: 'bench-run-title' }, `Run ${run.id}: ${run.system}`),
		h('p', { class: 'help' }, `${res.kind} system, ingress ${res.ingress}; ${res.cores} cores, load average ${(res.load_average || 0).toFixed(2)} on ${run.host}; ${res.duration_s} s per step.`),
		crit.length ? h('ul', { class: 'criteria' }, crit) : h('p', null, 'No criteria (the blueprint has no validation.performance or policy.slos).'),
		gate,
		lineChart(http ? 'Throughput per step (requests/s)' : 'Throughput per step (Sink messages/s)', steps, [['throughput', 'throughput']], ''),
		http ? lineChart('Latency per step (ms)', steps, [['p50', 'p50_ms'], ['p90', 'p90_ms'], ['p99', 'p99_ms'], ['p99.9', 'p999_ms']], ' ms') :
			lineChart('CPU cores per step', steps, [['cores', 'cpu_cores']], ''),
		sizing ? cpuTable(sizing) : null);
}

export async function render(main, ctx) {
	document.title = 'Benchmarks — autocoder';
	const head = h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Benchmarks'),
		h('button', { type: 'button', class: 'secondary', onclick: () => ctx.refresh() }, 'Refresh'));
	const help = h('p', { class: 'help' }, 'Runs of ', h('code', null, 'autocoder bench --db'),
		' pointed at this server\'s database, newest first (docs/BENCH.md).');
	let data;
	try {
		data = await listBenchRuns({ limit: 50 }, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		main.replaceChildren(head, help, errorBox(e, 'Loading the benchmark runs'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	const runs = data.runs || [];
	if (!runs.length) {
		main.replaceChildren(head, help, h('p', { class: 'empty' }, 'No runs stored yet.'));
		return;
	}
	const sel = runs.find((r) => String(r.id) === ctx.arg) || runs[0];
	const table = h('table', { class: 'data' },
		h('thead', null, h('tr', null, ['run', 'system', 'started', 'host', 'load', 'baseline', 'verdict', 'best /s (median of repeats)']
			.map((t) => h('th', { scope: 'col' }, t)))),
		h('tbody', null, runs.map((r) => h('tr', { 'aria-current': r === sel ? 'true' : null },
			h('td', null, h('a', { href: hashLink(`bench/${r.id}`) }, `#${r.id}`)),
			h('td', null, r.system), h('td', null, timeEl(r.started)), h('td', null, r.host),
			h('td', { class: 'num' }, (r.load_average || 0).toFixed(2)),
			h('td', null, r.baseline || ''),
			h('td', null, badge(r.passed ? 'pass' : 'fail', r.passed ? 'status-resolved' : 'status-open'),
				r.result && r.result.gate ? ` gate: ${r.result.gate.verdict}` : ''),
			h('td', { class: 'num' }, fmtNum(Math.round(median(r.headline))))))));
	main.replaceChildren(head, help, table, runDetail(sel));
}
