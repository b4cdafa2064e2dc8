/*
 * faults.js — the Faults page (#/faults): the fault-injection results stored in the
 * collector's database (`autocoder faults run --db`, GET /api/v1/faults/runs), the newest run
 * of each (rule, fault): outcome, fix outcome, date, system, autocoder version, and the
 * evidence events: what each said (time, level, component, message, context — stored with
 * the run, so it is readable after the run's throwaway collector is gone) and its id, linked
 * to the event view (found there only when the run's collector database is this server's
 * database). A rule whose
 * fault stopped producing it is flagged stale, as in the guide (docs/EVIDENCE.md).
 */
import { listFaultRuns } from './api.js';
import { h, fmtNum, fmtUtc, timeEl, badge, errorBox, hashLink } from './dom.js';

function outcomeCell(r) {
	const ok = r.outcome === 'validated';
	return h('td', null, badge(r.outcome, ok ? 'status-resolved' : 'status-open'),
		r.stale ? [' ', badge('stale', 'regression', `last validated ${fmtUtc(r.last_validated)}`)] : null);
}

// One evidence event: its id (linked to the event view, which finds it when the run's
// events are in this database) and what it said, stored with the run (samples).
function evidenceItem(id, sample) {
	const link = h('a', { href: hashLink(`events/${id}`) }, h('code', null, id));
	if (!sample)
		return h('li', null, link);
	const ctx = sample.context && Object.keys(sample.context).length
		? h('details', null, h('summary', null, 'context'), h('pre', null, JSON.stringify(sample.context, null, 2)))
		: null;
	return h('li', { class: 'evidence-sample' }, link, ' ',
		h('small', { class: 'muted' }, `${fmtUtc(sample.timestamp)} ${sample.level || ''} ${sample.component || ''}`),
		h('div', { class: 'evidence-message' }, sample.message || ''), ctx);
}

function evidenceCell(r) {
	const ids = Array.isArray(r.evidence) ? r.evidence : [];
	const samples = Array.isArray(r.samples) ? r.samples : [];
	if (!ids.length)
		return h('td', { class: 'muted' }, 'none');
	const byId = new Map(samples.map((s) => [s.id, s]));
	return h('td', null, h('ul', { class: 'evidence' }, ids.map((id) => evidenceItem(id, byId.get(id)))),
		r.events > ids.length ? h('small', null, `${fmtNum(ids.length)} of ${fmtNum(r.events)} shown`) : null);
}

function row(r) {
	return h('tr', { 'data-rule': r.rule, 'data-fault': r.fault },
		h('td', null, h('code', null, r.rule)),
		h('td', null, h('code', null, r.fault)),
		outcomeCell(r),
		h('td', null, r.fix || h('span', { class: 'muted' }, '–')),
		h('td', null, timeEl(r.date), h('br'), h('small', null, fmtUtc(r.date))),
		h('td', null, r.system || '–'),
		h('td', null, r.version),
		h('td', { class: 'num' }, fmtNum(r.events)),
		evidenceCell(r),
		h('td', { class: 'num' }, fmtNum(r.runs)));
}

export async function render(main, ctx) {
	document.title = 'Faults — autocoder';
	const head = h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Fault injection'),
		h('button', { type: 'button', class: 'secondary', onclick: () => ctx.refresh() }, 'Refresh'));
	const help = h('p', { class: 'help' }, 'The newest run of each fault of ', h('code', null, 'autocoder faults run --db'),
		' pointed at this server\'s database: did the real fault make the analyzer attach its rule (docs/EVIDENCE.md)?');
	let data;
	try {
		data = await listFaultRuns({ limit: 200 }, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		main.replaceChildren(head, help, errorBox(e, 'Loading the fault runs'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	const runs = data.runs || [];
	if (!runs.length) {
		main.replaceChildren(head, help, h('p', { class: 'empty' }, 'No fault runs stored yet.'));
		return;
	}
	const stale = runs.filter((r) => r.stale).length, ok = runs.filter((r) => r.outcome === 'validated').length;
	const table = h('table', { class: 'data', id: 'fault-runs' },
		h('caption', null, `${fmtNum(ok)} of ${fmtNum(runs.length)} faults validated${stale ? `, ${fmtNum(stale)} stale` : ''}`),
		h('thead', null, h('tr', null, ['rule', 'fault', 'outcome', 'fix', 'date', 'system', 'version', 'events', 'evidence events', 'runs']
			.map((t) => h('th', { scope: 'col' }, t)))),
		h('tbody', null, runs.map(row)));
	main.replaceChildren(head, help, table);
}
