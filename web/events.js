/*
 * events.js — the events explorer (#/events?q=&project=&system=&component=&level=&kind=
 * &release=&environment=&since=&until=&limit=&before=) and one event (#/events/<event_id>).
 * With --open-read the server lists every project's events, each carrying its project; the
 * Project field narrows the list to one (a token sees only its own project anyway).
 *
 * GET /api/v1/events pages by cursor: newest first, and `next` is the `before` of the
 * following page, so a page stays the same while new events arrive. The hash keeps `before`,
 * which makes every page linkable; "Newest" drops it.
 */
import { listEvents, getEvent } from './api.js';
import {
	h, hashLink, timeEl, fmtUtc, levelBadge, badge, errorBox, framesEl, eventSummary, defList,
	clusterLink,
} from './dom.js';

const FIELDS = ['q', 'project', 'system', 'component', 'level', 'kind', 'release', 'environment', 'since',
	'until', 'limit', 'before'];

function paramsOf(params) {
	const p = {};
	for (const f of FIELDS)
		p[f] = params.get(f) || '';
	return p;
}

function field(id, name, label, value, extra) {
	return h('div', { class: `field ${extra && extra.wide ? 'wide' : ''}`.trim() },
		h('label', { for: id }, label),
		h('input', { id, name, type: 'search', value, placeholder: extra && extra.placeholder }));
}

function choice(id, name, label, value, options) {
	return h('div', { class: 'field' }, h('label', { for: id }, label),
		h('select', { id, name }, options.map((v) => h('option', { value: v, selected: v === value }, v || 'any'))));
}

function filterForm(p, ctx) {
	const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
		field('ev-q', 'q', 'Search', p.q, { wide: true, placeholder: 'message or exception' }),
		choice('ev-level', 'level', 'Level', p.level, ['', 'debug', 'info', 'warning', 'error', 'fatal']),
		choice('ev-kind', 'kind', 'Kind', p.kind, ['', 'log', 'error', 'crash']),
		field('ev-project', 'project', 'Project', p.project, { placeholder: 'all projects' }),
		field('ev-system', 'system', 'System', p.system),
		field('ev-component', 'component', 'Component', p.component),
		field('ev-release', 'release', 'Release', p.release),
		field('ev-environment', 'environment', 'Environment', p.environment),
		field('ev-since', 'since', 'Since', p.since, { placeholder: 'RFC 3339 or unix s' }),
		field('ev-until', 'until', 'Until', p.until, { placeholder: 'RFC 3339 or unix s' }),
		choice('ev-limit', 'limit', 'Per page', p.limit || '50', ['25', '50', '100', '200']),
		h('div', { class: 'field buttons' },
			h('button', { type: 'submit' }, 'Apply'),
			h('a', { class: 'button secondary', href: '#/events' }, 'Reset')));
	const apply = () => ctx.navigate(hashLink('events', { ...Object.fromEntries(new FormData(form)), before: '' }));
	form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
	form.addEventListener('change', (ev) => { if (ev.target.tagName === 'SELECT') apply(); });
	return form;
}

function row(ev) {
	return h('tr', null,
		h('td', null, timeEl(ev.timestamp)),
		h('td', null, levelBadge(ev.level)),
		h('td', null, ev.kind),
		h('td', null, [ev.project && `[${ev.project}]`, ev.system, ev.component].filter(Boolean).join(' / ') || h('span', { class: 'muted' }, '–')),
		h('td', { class: 'msg' }, h('a', { href: hashLink(`events/${ev.event_id}`) }, eventSummary(ev))),
		h('td', { class: 'num' }, ev.cluster_id ? clusterLink(ev.cluster_id) : h('span', { class: 'muted', title: 'not clustered yet' }, '–')));
}

export async function render(main, ctx) {
	const p = paramsOf(ctx.params);
	document.title = 'Events — autocoder';
	const head = h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Events'),
		h('button', { type: 'button', class: 'secondary', onclick: () => ctx.refresh() }, 'Refresh'));
	const form = filterForm(p, ctx);
	let res;
	try {
		res = await listEvents({ ...p, limit: p.limit || 50 }, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		main.replaceChildren(head, form, errorBox(e, 'Listing events'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
		h('span', { role: 'status' }, `${res.events.length} event${res.events.length === 1 ? '' : 's'}${p.before ? ' (older page)' : ', newest first'}`),
		p.before ? h('a', { class: 'button secondary', href: hashLink('events', { ...p, before: '' }) }, '⇤ Newest') : null,
		res.next ? h('a', { class: 'button secondary', rel: 'next', href: hashLink('events', { ...p, before: res.next }) }, 'Older →') : null);
	if (!res.events.length) {
		main.replaceChildren(head, form, h('p', { class: 'empty', role: 'status' }, 'No events match these filters.'), pager);
		return;
	}
	const table = h('table', { class: 'list events-table' },
		h('caption', { class: 'visually-hidden' }, 'Events, newest first'),
		h('thead', null, h('tr', null, ['time', 'level', 'kind', 'system / component', 'message', 'cluster']
			.map((t, i) => h('th', { scope: 'col', class: i === 5 ? 'num' : null }, t)))),
		h('tbody', null, res.events.map(row)));
	main.replaceChildren(head, form, h('div', { class: 'table-wrap' }, table), pager);
}

function download(ev) {
	const blob = new Blob([JSON.stringify(ev, null, 2)], { type: 'application/json' });
	const a = h('a', { href: URL.createObjectURL(blob), download: `event-${ev.event_id}.json` });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

export async function renderDetail(main, ctx) {
	let ev;
	const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '#/events' }, 'Events'), ` / ${ctx.arg}`);
	try {
		ev = await getEvent(ctx.arg, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		document.title = 'Event — autocoder';
		main.replaceChildren(crumbs, h('h1', { tabindex: '-1' }, 'Event'), errorBox(e, 'Loading the event'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	document.title = `Event ${ev.event_id} — autocoder`;
	const x = ev.exception;
	const tags = ev.tags && typeof ev.tags === 'object' ? Object.entries(ev.tags) : [];
	const parts = [crumbs,
		h('div', { class: 'view-head' }, h('h1', { tabindex: '-1', class: 'event-title' }, eventSummary(ev))),
		h('div', { class: 'badges' }, levelBadge(ev.level), badge(ev.kind, 'kind'), badge(ev.source || '?', 'kind', 'source')),
		h('section', { class: 'card', 'aria-labelledby': 'ev-facts-h' }, h('h2', { id: 'ev-facts-h' }, 'Event'),
			defList([
				['Event id', h('code', null, ev.event_id)], ['Project', ev.project], ['Time', fmtUtc(ev.timestamp)],
				['Received', fmtUtc(ev.received_at)], ['Cluster', ev.cluster_id ? clusterLink(ev.cluster_id) : 'not clustered yet'],
				['System', ev.system], ['Component', ev.component], ['Release', ev.release],
				['Environment', ev.environment], ['Logger', ev.logger], ['Platform', ev.platform],
				['Message', ev.message], ['Fingerprint', Array.isArray(ev.fingerprint) ? ev.fingerprint.join(' · ') : null],
			])),
		x ? h('section', { class: 'card', 'aria-labelledby': 'ev-exc-h' }, h('h2', { id: 'ev-exc-h' }, 'Exception'),
			h('p', null, h('code', null, x.type || ''), x.value ? `: ${x.value}` : '', x.module ? h('span', { class: 'muted' }, ` (${x.module})`) : null),
			framesEl(x)) : null,
		tags.length ? h('section', { class: 'card', 'aria-labelledby': 'ev-tags-h' }, h('h2', { id: 'ev-tags-h' }, 'Tags'),
			defList(tags.map(([k, v]) => [k, String(v)]), 'facts inline')) : null,
		h('section', { class: 'card', 'aria-labelledby': 'ev-json-h' },
			h('div', { class: 'view-head' }, h('h2', { id: 'ev-json-h' }, 'Stored JSON'),
				h('button', { type: 'button', class: 'secondary', onclick: () => download(ev) }, 'Download JSON')),
			h('pre', { class: 'json', tabindex: '0', 'aria-label': 'the stored event as JSON' }, JSON.stringify(ev, null, 2)))];
	main.replaceChildren(...parts.filter(Boolean));
}
