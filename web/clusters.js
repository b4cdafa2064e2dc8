/*
 * clusters.js — the clusters list (#/clusters?q=&status=&system=&component=&level=&kind=&within=
 * &sort=&limit=&offset=): a filter form whose values live in the hash, one table row per
 * cluster, and offset paging.
 *
 * Rows get their sparkline from the item's `hourly` when the list carries it; the list API
 * does not yet (notes/web-REQUESTS.md), so otherwise it comes from the cluster's detail
 * (GET /api/v1/clusters/<id>?events=1), fetched four at a time after the table is shown and
 * cached per cluster until its last_seen changes.
 */
import { listClusters, getCluster } from './api.js';
import { h, hashLink, fmtNum, timeEl, statusBadge, levelBadge, ruleBadge, errorBox, badge } from './dom.js';
import { sparkline } from './chart.js';

const FIELDS = ['q', 'status', 'system', 'component', 'level', 'kind', 'within', 'sort', 'limit', 'offset'];
const WITHIN_SECONDS = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };
const DEFAULTS = { status: 'open', sort: 'count', limit: '50' };
const seriesCache = new Map(); /* id -> {last_seen, hourly} */

function paramsOf(params) {
	const p = {};
	for (const f of FIELDS)
		p[f] = params.has(f) ? params.get(f) : (DEFAULTS[f] || '');
	return p;
}

function select(id, name, label, value, options) {
	return [h('label', { for: id }, label),
		h('select', { id, name },
			options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)))];
}

function text(id, name, label, value, extra) {
	return [h('label', { for: id }, label), h('input', { id, name, type: 'search', value, ...extra })];
}

function filterForm(p, ctx) {
	const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter clusters' },
		h('div', { class: 'field wide' }, text('cl-q', 'q', 'Search', p.q,
			{ placeholder: 'title, template or rule id' })),
		h('div', { class: 'field' }, select('cl-status', 'status', 'Status', p.status, [
			['open', 'open'], ['resolved', 'resolved'], ['ignored', 'ignored'], ['all', 'all']])),
		h('div', { class: 'field' }, text('cl-system', 'system', 'System', p.system)),
		h('div', { class: 'field' }, text('cl-component', 'component', 'Component', p.component)),
		h('div', { class: 'field' }, select('cl-level', 'level', 'Level', p.level, [
			['', 'any'], ['debug', 'debug'], ['info', 'info'], ['warning', 'warning'],
			['error', 'error'], ['fatal', 'fatal']])),
		h('div', { class: 'field' }, select('cl-kind', 'kind', 'Kind', p.kind, [
			['', 'any'], ['log', 'log'], ['error', 'error'], ['crash', 'crash']])),
		h('div', { class: 'field' }, select('cl-within', 'within', 'Last seen', p.within, [
			['', 'any time'], ['1h', 'last hour'], ['24h', 'last 24 h'], ['7d', 'last 7 days'], ['30d', 'last 30 days']])),
		h('div', { class: 'field' }, select('cl-sort', 'sort', 'Sort by', p.sort, [
			['count', 'count'], ['last_seen', 'last seen'], ['trend', 'trend (24 h)']])),
		h('div', { class: 'field' }, select('cl-limit', 'limit', 'Per page', p.limit, [
			['25', '25'], ['50', '50'], ['100', '100'], ['200', '200']])),
		h('div', { class: 'field buttons' },
			h('button', { type: 'submit' }, 'Apply'),
			h('a', { class: 'button secondary', href: '#/clusters' }, 'Reset')));
	const apply = () => {
		const data = Object.fromEntries(new FormData(form));
		data.offset = '';  /* new filters start at the first page */
		ctx.navigate(hashLink('clusters', data));
	};
	form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
	form.addEventListener('change', (ev) => { if (ev.target.tagName === 'SELECT') apply(); });
	return form;
}

function trendCell(c) {
	const d = c.last_24h - c.prev_24h;
	const title = `${c.last_24h} events in the last 24 h, ${c.prev_24h} in the 24 h before`;
	const arrow = d > 0 ? '↑' : d < 0 ? '↓' : '→';
	return h('span', { class: `trend ${d > 0 ? 'up' : d < 0 ? 'down' : ''}`, title },
		`${arrow} ${fmtNum(c.last_24h)}`, h('span', { class: 'visually-hidden' }, ` (${title})`));
}

function row(c) {
	const name = c.title || c.template || `cluster ${c.id}`;
	return h('tr', { dataset: { clusterId: c.id } },
		h('td', { class: 'num' }, h('a', { href: hashLink(`clusters/${c.id}`), 'aria-label': `cluster ${c.id}` }, `#${c.id}`)),
		h('td', { class: 'title-cell' },
			h('a', { class: 'cluster-title', href: hashLink(`clusters/${c.id}`) }, name),
			c.template && c.template !== name ? h('div', null, h('code', { class: 'template' }, c.template)) : null,
			h('div', { class: 'badges' }, levelBadge(c.level), badge(c.kind, 'kind'), ruleBadge(c.rule_id),
				c.regressed_at && c.status === 'open' ? badge('regression', 'regression', `regressed ${c.regressed_at}`) : null)),
		h('td', { class: 'num count' }, fmtNum(c.count)),
		h('td', { class: 'num' }, fmtNum(c.systems)),
		h('td', null, timeEl(c.first_seen)),
		h('td', null, timeEl(c.last_seen)),
		h('td', null, statusBadge(c.status)),
		h('td', null, trendCell(c)),
		h('td', { class: 'spark-cell' }, h('span', { class: 'muted' }, '…')));
}

/* Fill the sparkline cells, four detail requests at a time. */
async function fillSparklines(table, list, signal) {
	const queue = list.slice();
	const worker = async () => {
		while (queue.length && !signal.aborted) {
			const c = queue.shift();
			const cell = table.querySelector(`tr[data-cluster-id="${c.id}"] .spark-cell`);
			let hit = Array.isArray(c.hourly) ? { hourly: c.hourly } : seriesCache.get(c.id);
			if (!hit || (!c.hourly && hit.last_seen !== c.last_seen)) {
				try {
					const d = await getCluster(c.id, 1, signal);
					hit = { last_seen: c.last_seen, hourly: d.hourly };
					seriesCache.set(c.id, hit);
				} catch (e) {
					if (e.name === 'AbortError')
						return;
					cell.replaceChildren(h('span', { class: 'muted', title: e.message }, 'n/a'));
					continue;
				}
			}
			if (!signal.aborted)
				cell.replaceChildren(sparkline(hit.hourly));
		}
	};
	await Promise.all([worker(), worker(), worker(), worker()]);
}

function pager(p, res) {
	const offset = Number(p.offset) || 0, n = res.clusters.length;
	const prevOffset = Math.max(0, offset - (Number(p.limit) || 50));
	return h('nav', { class: 'pager', 'aria-label': 'Pages' },
		h('span', { role: 'status' }, n ? `${fmtNum(offset + 1)}–${fmtNum(offset + n)} of ${fmtNum(res.total)}` : `0 of ${fmtNum(res.total)}`),
		offset > 0 ? h('a', { class: 'button secondary', href: hashLink('clusters', { ...p, offset: prevOffset || '' }) }, '← Previous') : null,
		res.next_offset !== null && res.next_offset !== undefined
			? h('a', { class: 'button secondary', href: hashLink('clusters', { ...p, offset: res.next_offset }), rel: 'next' }, 'Next →') : null);
}

export async function render(main, ctx) {
	const p = paramsOf(ctx.params);
	document.title = 'Clusters — autocoder';
	const head = h('div', { class: 'view-head' },
		h('h1', { tabindex: '-1' }, 'Clusters'),
		h('button', { type: 'button', class: 'secondary', onclick: () => ctx.refresh() }, 'Refresh'));
	const form = filterForm(p, ctx);
	let res;
	try {
		const { within, ...query } = p;
		/* "last seen within" becomes the API's since, counted from now at each load */
		if (WITHIN_SECONDS[within])
			query.since = Math.floor(Date.now() / 1000) - WITHIN_SECONDS[within];
		res = await listClusters(query, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		main.replaceChildren(head, form, errorBox(e, 'Listing clusters'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	if (!res.clusters.length) {
		main.replaceChildren(head, form, h('p', { class: 'empty', role: 'status' },
			res.total ? 'No clusters on this page.' : 'No clusters match these filters.'), pager(p, res));
		return;
	}
	const table = h('table', { class: 'list clusters' },
		h('caption', { class: 'visually-hidden' }, 'Clusters, one per row'),
		h('thead', null, h('tr', null,
			['id', 'problem', 'events', 'systems', 'first seen', 'last seen', 'status', '24 h', '7 days']
				.map((t, i) => h('th', { scope: 'col', class: [0, 2, 3].includes(i) ? 'num' : null }, t)))),
		h('tbody', null, res.clusters.map(row)));
	main.replaceChildren(head, form, h('div', { class: 'table-wrap' }, table), pager(p, res));
	fillSparklines(table, res.clusters, ctx.signal);
}
