/*
 * alerts.js — the alert delivery log (#/alerts): GET /api/v1/alerts/deliveries, newest first,
 * one row per alert with its kind, cluster, destination (scheme and host only), status,
 * tries and the last answer. Alert rules are managed with `autocoder alerts` on the server
 * (docs/OPERATIONS.md); this view shows what was sent and what failed.
 */
import { listAlertDeliveries } from './api.js';
import { h, badge, clusterLink, timeEl, errorBox } from './dom.js';

const KIND = { new_cluster: 'new pattern', regression: 'regression', spike: 'spike', fatal: 'fatal' };

function row(d) {
	return h('tr', null,
		h('td', null, timeEl(d.created_at)),
		h('td', null, badge(KIND[d.kind] || d.kind, `alert-${d.kind}`)),
		h('td', null, d.cluster_id ? clusterLink(d.cluster_id, `#${d.cluster_id}`) : '–'),
		h('td', { class: 'mono' }, d.target),
		h('td', null, badge(d.status, `delivery-${d.status}`)),
		h('td', { class: 'num' }, String(d.attempts)),
		h('td', null, d.response || '–'));
}

export async function render(main, ctx) {
	document.title = 'Alerts — autocoder';
	const head = h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Alert deliveries'),
		h('button', { type: 'button', class: 'secondary', onclick: () => ctx.refresh() }, 'Refresh'));
	const help = h('p', { class: 'help' }, 'Webhook and e-mail alerts for new patterns, regressions, spikes and fatal ',
		'clusters. Rules: ', h('code', null, 'autocoder alerts add --help'), ' on the server.');
	let data;
	try {
		data = await listAlertDeliveries({ limit: 200 }, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		main.replaceChildren(head, help, errorBox(e, 'Loading the delivery log'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	const list = data.deliveries || [];
	const body = list.length
		? h('div', { class: 'table-wrap' }, h('table', { class: 'list alerts-table' },
			h('thead', null, h('tr', null, ...['Queued', 'Kind', 'Cluster', 'Destination', 'Status', 'Tries', 'Last answer']
				.map((t) => h('th', { scope: 'col' }, t)))),
			h('tbody', null, ...list.map(row))))
		: h('p', { class: 'empty' }, 'No alerts were sent yet.');
	main.replaceChildren(head, help, body);
}
