/*
 * cluster.js — one cluster (#/clusters/<id>?events=N): its numbers, the matched rule with
 * causes and fix steps, why its events were grouped, the hourly series, breakdowns by system,
 * component, release, environment and level, the newest events with stack frames, and the
 * maintainer's actions: resolve / ignore / reopen, merge into another cluster, split; and a
 * feedback form ("did fix step N work?", POST /api/v1/clusters/<id>/feedback, docs/EVIDENCE.md).
 *
 * Actions call the API and re-render from its answer; failures are shown next to the action
 * with the server's detail text.
 */
import { getCluster, setClusterStatus, mergeClusters, splitCluster, listClusters, sendClusterFeedback } from './api.js';
import {
	h, hashLink, fmtNum, fmtUtc, timeEl, statusBadge, levelBadge, ruleBadge, badge, errorBox,
	framesEl, eventSummary, defList, clusterLink,
} from './dom.js';
import { hourlyChart } from './chart.js';

const DIMS = [['system', 'Systems'], ['component', 'Components'], ['release', 'Releases'],
	['environment', 'Environments'], ['level', 'Levels']];

function section(title, id, ...body) {
	return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), body);
}

function header(c) {
	const name = c.title || c.template || `cluster ${c.id}`;
	return h('div', { class: 'view-head cluster-head' },
		h('div', null,
			h('p', { class: 'crumbs' }, h('a', { href: '#/clusters' }, 'Clusters'), ` / #${c.id}`),
			h('h1', { tabindex: '-1' }, name),
			c.template && c.template !== name ? h('p', null, h('code', { class: 'template' }, c.template)) : null,
			h('div', { class: 'badges' }, statusBadge(c.status), levelBadge(c.level), badge(c.kind, 'kind'),
				ruleBadge(c.rule_id),
				c.regressed_at && c.status === 'open' ? badge('regression', 'regression', `regressed ${fmtUtc(c.regressed_at)}`) : null)));
}

function notices(c) {
	const out = [];
	if (c.merged_into)
		out.push(h('p', { class: 'notice' }, 'This cluster was merged into ', clusterLink(c.merged_into),
			'; its new events go there.'));
	if (c.children && c.children.length)
		out.push(h('p', { class: 'notice' }, 'This cluster was split into ',
			c.children.map((id, i) => [i ? ', ' : '', clusterLink(id)]), '.'));
	if (c.split_from)
		out.push(h('p', { class: 'notice' }, 'Split from ', clusterLink(c.split_from), '.'));
	return out;
}

function numbers(c) {
	const trend = c.last_24h - c.prev_24h;
	return h('section', { class: 'card', 'aria-labelledby': 'numbers-h' },
		h('h2', { id: 'numbers-h', class: 'visually-hidden' }, 'Numbers'),
		defList([
			['Events', h('span', { class: 'big', id: 'cluster-count' }, fmtNum(c.count))],
			['Systems', fmtNum(c.systems)],
			['Last 24 h', `${fmtNum(c.last_24h)} (${trend >= 0 ? '+' : ''}${fmtNum(trend)} on the 24 h before)`],
			['First seen', [timeEl(c.first_seen), h('br'), h('small', null, fmtUtc(c.first_seen))]],
			['Last seen', [timeEl(c.last_seen), h('br'), h('small', null, fmtUtc(c.last_seen))]],
			['Status', h('span', { id: 'cluster-status' }, c.status)],
			['Resolved', c.resolved_at ? fmtUtc(c.resolved_at) : null],
			['Regressed', c.regressed_at ? fmtUtc(c.regressed_at) : null],
		], 'facts numbers'));
}

/* Status buttons, merge form and split; `reload(detail)` re-renders with a new detail. */
function actions(c, ctx, reload) {
	const out = h('div', { class: 'action-result', 'aria-live': 'polite' });
	const busy = (on) => { for (const b of box.querySelectorAll('button, input')) b.disabled = on; };
	const run = async (fn) => {
		out.replaceChildren();
		busy(true);
		try {
			await fn();
		} catch (e) {
			busy(false);
			out.replaceChildren(errorBox(e, 'The action'));
		}
	};
	const statusButton = (status, label) => h('button', {
		type: 'button', class: status === 'resolved' ? 'primary' : 'secondary',
		onclick: () => run(async () => {
			const d = await setClusterStatus(c.id, status);
			ctx.flash(`Cluster #${c.id} is now ${d.status}.`);
			/* the reply carries the 10 newest events; keep the number the page shows */
			reload(await getCluster(c.id, Number(ctx.params.get('events')) || 10, ctx.signal));
		}),
	}, label);
	const statusRow = h('div', { class: 'row' },
		c.status !== 'resolved' ? statusButton('resolved', 'Resolve') : null,
		c.status !== 'ignored' ? statusButton('ignored', 'Ignore') : null,
		c.status !== 'open' ? statusButton('open', 'Reopen') : null);

	const target = h('input', { id: 'merge-into', name: 'into', type: 'number', min: '1', step: '1',
		required: true, list: 'merge-candidates', inputmode: 'numeric', 'aria-describedby': 'merge-help' });
	const candidates = h('datalist', { id: 'merge-candidates' });
	const mergeForm = h('form', { class: 'row merge' },
		h('label', { for: 'merge-into' }, 'Merge into cluster'), target, candidates,
		h('button', { type: 'submit', class: 'secondary' }, 'Merge'),
		h('p', { id: 'merge-help', class: 'help' }, `This cluster's events and future matches move to the chosen cluster.`));
	mergeForm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const into = Number(target.value);
		run(async () => {
			const d = await mergeClusters(into, [c.id]);
			ctx.flash(`Merged cluster #${c.id} into #${d.id}; it now has ${fmtNum(d.count)} events.`);
			ctx.navigate(hashLink(`clusters/${d.id}`));
		});
	});
	target.addEventListener('focus', () => fillCandidates(c, candidates, ctx.signal), { once: true });

	const confirmRow = h('div', { class: 'row confirm', hidden: true },
		h('span', null, 'Split this cluster into stricter groups (by full message template or stack)?'),
		h('button', { type: 'button', class: 'primary', onclick: () => run(async () => {
			const r = await splitCluster(c.id);
			ctx.flash(`Split cluster #${c.id} into ${r.children.map((id) => `#${id}`).join(', ')}.`);
			reload(await getCluster(c.id, Number(ctx.params.get('events')) || 10, ctx.signal));
		}) }, 'Split'),
		h('button', { type: 'button', class: 'secondary', onclick: () => { confirmRow.hidden = true; splitButton.hidden = false; } }, 'Cancel'));
	const splitButton = h('button', { type: 'button', class: 'secondary',
		onclick: () => { confirmRow.hidden = false; splitButton.hidden = true; confirmRow.querySelector('button').focus(); } },
	'Split…');

	const box = h('div', { class: 'actions' }, statusRow, mergeForm, h('div', { class: 'row' }, splitButton), confirmRow);
	if (c.merged_into || (c.children && c.children.length))
		return section('Actions', 'actions-h', h('p', { class: 'muted' },
			'A merged or split cluster cannot change; act on the cluster it went to.'));
	return section('Actions', 'actions-h', box, out);
}

async function fillCandidates(c, datalist, signal) {
	try {
		const res = await listClusters({ status: 'all', kind: c.kind, limit: 200 }, signal);
		datalist.replaceChildren(...res.clusters.filter((o) => o.id !== c.id)
			.map((o) => h('option', { value: o.id }, `#${o.id} ${o.title || o.template || ''} (${o.count})`)));
	} catch {
		/* suggestions only: typing an id still works */
	}
}

function ruleSection(c) {
	const r = c.rule;
	if (!r)
		return section('Rule', 'rule-h', h('p', null, 'No rule matches this pattern yet. ',
			h('a', { href: '#/guide' }, 'The guide'), ' suggests a rule for it from its template.'));
	if (!r.title)
		return section('Rule', 'rule-h', h('p', null, 'Matched rule ', h('code', null, r.id),
			', which the server has not loaded (start it with --rules).'));
	return section(`Rule: ${r.title}`, 'rule-h',
		defList([['Rule', h('code', null, r.id)], ['Category', r.category], ['Severity', r.severity],
			['Defined in', r.file ? `${r.file}:${r.line}` : r.pack]], 'facts inline'),
		r.causes && r.causes.length ? [h('h3', null, 'Causes'), h('ul', { class: 'causes' }, r.causes.map((x) => h('li', null, x)))] : null,
		r.fix && r.fix.length ? [h('h3', null, 'Fix'), h('ol', { class: 'fix' }, r.fix.map((f) =>
			h('li', null, f.step, f.command ? h('pre', null, h('code', null, f.command)) : null)))] : null,
		r.references && r.references.length ? [h('h3', null, 'References'), h('ul', null, r.references.map((u) =>
			h('li', null, /^https?:\/\//.test(u) ? h('a', { href: u, rel: 'noopener noreferrer', target: '_blank' }, u) : u)))] : null);
}

/* "Did fix step N work?": worked / did not work / other cause, text, optional contact. The
 * server's answer (the stored report, or its error detail, e.g. a 429) is shown below. */
function feedbackSection(c) {
	const steps = c.rule && Array.isArray(c.rule.fix) ? c.rule.fix : [];
	const out = h('div', { id: 'fb-result', class: 'action-result', 'aria-live': 'polite' });
	const radio = (value, label, checked) => h('label', { class: 'inline' },
		h('input', { type: 'radio', name: 'fb-outcome', id: `fb-${value}`, value, checked: checked || null }), ` ${label}`);
	const fix = h('input', { id: 'fb-fix', name: 'fix', type: 'number', min: '1', max: String(Math.max(1, steps.length || 100)),
		step: '1', value: '1', inputmode: 'numeric' });
	const text = h('textarea', { id: 'fb-text', name: 'text', rows: '3', maxlength: '2000' });
	const contact = h('input', { id: 'fb-contact', name: 'contact', type: 'text', maxlength: '200', autocomplete: 'email' });
	const send = h('button', { type: 'submit', id: 'fb-send', class: 'primary' }, 'Send feedback');
	const form = h('form', { id: 'feedback-form', class: 'feedback' },
		h('div', { class: 'row' }, h('label', { for: 'fb-fix' }, 'Fix step'), fix),
		h('fieldset', null, h('legend', null, 'Did it work?'),
			radio('worked', 'it worked', true), radio('failed', 'it did not work'), radio('other_cause', 'the cause was another one')),
		h('div', null, h('label', { for: 'fb-text' }, 'What happened (needed for "another cause")'), text),
		h('div', null, h('label', { for: 'fb-contact' }, 'Contact (optional)'), contact),
		h('div', { class: 'row' }, send));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const outcome = form.querySelector('input[name="fb-outcome"]:checked').value;
		const body = { outcome };
		if (outcome !== 'other_cause')
			body.fix = Number(fix.value);
		if (text.value.trim())
			body.text = text.value.trim();
		if (contact.value.trim())
			body.contact = contact.value.trim();
		out.replaceChildren();
		send.disabled = true;
		try {
			const r = await sendClusterFeedback(c.id, body);
			out.replaceChildren(h('p', { class: 'ok', role: 'status' }, `Thank you: feedback #${r.id} stored` +
				(r.fix ? ` (fix step ${r.fix} ${r.outcome === 'worked' ? 'worked' : 'did not work'})` : ' (another cause)') + '.'));
			text.value = '';
		} catch (e) {
			out.replaceChildren(errorBox(e, 'Sending the feedback'));
		} finally {
			send.disabled = false;
		}
	});
	return section(steps.length ? `Did fix step N work? (steps 1–${steps.length} above)` : 'Did a fix work?', 'feedback-h',
		h('p', { class: 'help' }, 'Your report ranks the fix steps in the guide. It is sent with the token saved in this browser.'),
		form, out);
}

function groupingSection(c) {
	const g = c.grouping;
	if (!g)
		return null;
	const caps = g.captures && typeof g.captures === 'object' ? Object.entries(g.captures) : [];
	return section('Why these events are grouped', 'grouping-h',
		h('p', { class: 'explanation' }, g.explanation || 'No explanation stored.'),
		defList([['Basis', g.basis], ['Key', g.key ? h('code', null, g.key) : null],
			['Fingerprint', c.fingerprint ? h('code', null, c.fingerprint) : null],
			['Rule captures', caps.length ? h('span', null, caps.map(([k, v], i) =>
				[i ? ', ' : '', h('code', null, k), ' = ', h('code', null, String(v))])) : null]], 'facts inline'));
}

function dimTable(label, counts, total) {
	const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
	if (!entries.length)
		return h('div', { class: 'dim' }, h('h3', null, label), h('p', { class: 'muted' }, 'not reported'));
	return h('div', { class: 'dim' }, h('h3', null, label),
		h('table', { class: 'dim-table' },
			h('thead', { class: 'visually-hidden' }, h('tr', null, h('th', { scope: 'col' }, 'value'), h('th', { scope: 'col' }, 'events'))),
			h('tbody', null, entries.map(([v, n]) => h('tr', null,
				h('th', { scope: 'row' }, v),
				h('td', { class: 'num' }, fmtNum(n),
					h('span', { class: 'share', 'aria-hidden': 'true' },
						h('span', { style: `width:${Math.round((n / Math.max(1, total)) * 100)}%` }))))))));
}

function eventItem(ev, i) {
	return h('li', { class: 'event' },
		h('div', { class: 'event-head' },
			levelBadge(ev.level),
			h('a', { href: hashLink(`events/${ev.event_id}`), class: 'event-msg' }, eventSummary(ev)),
			h('span', { class: 'muted' }, ' · ', timeEl(ev.timestamp),
				[ev.system, ev.component].filter(Boolean).length ? ` · ${[ev.system, ev.component].filter(Boolean).join(' / ')}` : '',
				ev.release ? ` · ${ev.release}` : '', ev.environment ? ` · ${ev.environment}` : '')),
		ev.explanation ? h('p', { class: 'explanation small' }, ev.explanation) : null,
		ev.exception && ev.exception.frames && ev.exception.frames.length
			? h('details', { class: 'frames-box', open: i === 0 }, h('summary', null, `Stack (${ev.exception.frames.length} frames)`), framesEl(ev.exception))
			: null);
}

/* The only key of a breakdown, or '' (the events API filters by one value). */
function oneKey(counts) {
	const keys = Object.keys(counts || {});
	return keys.length === 1 ? keys[0] : '';
}

function eventsSection(c, ctx) {
	const n = Number(ctx.params.get('events')) || 10;
	const more = [10, 25, 100].filter((x) => x > n && x > c.events.length);
	return section(`Newest events (${fmtNum(c.events.length)} of ${fmtNum(c.count)})`, 'events-h',
		h('ol', { class: 'events' }, c.events.map(eventItem)),
		c.count > c.events.length && more.length
			? h('p', null, h('a', { href: hashLink(`clusters/${c.id}`, { events: more[0] }) }, `Show ${more[0]} events`)) : null,
		h('p', null, h('a', { href: hashLink('events', { system: oneKey(c.dims && c.dims.system), kind: c.kind }) },
			'Explore these events in the events view')));
}

function page(c, ctx, main) {
	/* after an action: show the new state and keep keyboard focus in the actions */
	const reload = (d) => {
		if (ctx.signal.aborted)
			return;
		main.replaceChildren(...page(d, ctx, main));
		const next = main.querySelector('.actions button');
		(next || main.querySelector('h1')).focus();
	};
	document.title = `#${c.id} ${c.title || ''} — autocoder`;
	return [
		header(c), ...notices(c), numbers(c), actions(c, ctx, reload),
		ruleSection(c), feedbackSection(c), groupingSection(c),
		section('Events per hour (7 days, UTC)', 'chart-h', hourlyChart(c.hourly)),
		section('Breakdown', 'dims-h', h('div', { class: 'dims' },
			DIMS.map(([k, label]) => dimTable(label, c.dims && c.dims[k], c.count)),
			/* errors group on their crash site; the callers that reached it are a breakdown */
			c.dims && c.dims.caller && Object.keys(c.dims.caller).length
				? dimTable(c.reached_from ? `Reached from ${c.reached_from} callers` : 'Caller',
					c.dims.caller, c.count)
				: null)),
		eventsSection(c, ctx),
	].filter(Boolean);
}

export async function render(main, ctx) {
	const events = Number(ctx.params.get('events')) || 10;
	let c;
	try {
		c = await getCluster(ctx.arg, Math.min(100, Math.max(1, events)), ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		document.title = 'Cluster — autocoder';
		main.replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: '#/clusters' }, 'Clusters')),
			h('h1', { tabindex: '-1' }, `Cluster ${ctx.arg}`), errorBox(e, 'Loading the cluster'));
		return;
	}
	if (!ctx.signal.aborted)
		main.replaceChildren(...page(c, ctx, main));
}
