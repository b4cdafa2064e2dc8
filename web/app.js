/*
 * app.js — the maintainers' UI: hash routing, the read-token form and flash messages.
 *
 * Every view is linkable: the location hash names it and its filters
 * (#/clusters?status=open&sort=trend, #/clusters/12, #/events?level=error, #/events/<id>,
 * #/guide, #/faults). On each hash change the previous view's requests are aborted (AbortController)
 * and the view for the new hash renders into <main>; a view writes only while its signal is
 * live, so a slow answer never overwrites a newer view.
 */
import { getToken, setToken, getHealth } from './api.js';
import { h, errorText } from './dom.js';
import * as clusters from './clusters.js';
import * as cluster from './cluster.js';
import * as events from './events.js';
import * as guide from './guide.js';
import * as alerts from './alerts.js';
import * as bench from './bench.js';
import * as faults from './faults.js';

const main = document.getElementById('main');
const flashBox = document.getElementById('flash');
let current = null;        /* {controller, view} of the rendered route */
let pendingFlash = null;   /* shown by the next render, then cleared by the one after */

function parseHash() {
	const raw = location.hash.replace(/^#\/?/, '');
	const [path, query] = raw.split('?', 2);
	const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
	return { parts, params: new URLSearchParams(query || '') };
}

function pick(parts) {
	const [a, b] = parts;
	if (!a || a === 'clusters')
		return b ? { view: cluster, name: 'cluster', arg: b } : { view: clusters, name: 'clusters' };
	if (a === 'events')
		return b ? { view: events, name: 'event', arg: b, detail: true } : { view: events, name: 'events' };
	if (a === 'guide')
		return { view: guide, name: 'guide' };
	if (a === 'alerts')
		return { view: alerts, name: 'alerts' };
	if (a === 'bench')
		return { view: bench, name: 'bench', arg: b };
	if (a === 'faults')
		return { view: faults, name: 'faults' };
	return null;
}

function markNav(name) {
	const section = name === 'cluster' ? 'clusters' : name === 'event' ? 'events' : name;
	for (const a of document.querySelectorAll('nav.site a'))
		if (a.dataset.section === section)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
}

export function flash(message, kind = 'ok') {
	pendingFlash = { message, kind };
	showFlash();
}

function showFlash() {
	flashBox.replaceChildren();
	flashBox.className = '';
	if (!pendingFlash)
		return;
	flashBox.className = `flash ${pendingFlash.kind}`;
	flashBox.append(h('span', null, pendingFlash.message),
		h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss message',
			onclick: () => { pendingFlash = null; showFlash(); } }, '×'));
}

export function navigate(hash) {
	if (location.hash === hash)
		route();
	else
		location.hash = hash;
}

async function route() {
	const { parts, params } = parseHash();
	const target = pick(parts);
	const focusedId = document.activeElement && main.contains(document.activeElement)
		? document.activeElement.id : '';
	const sameView = current && target && current.name === target.name && current.arg === target.arg;

	if (current)
		current.controller.abort();
	const controller = new AbortController();
	current = { controller, name: target && target.name, arg: target && target.arg };
	markNav(target ? target.name : '');
	if (!sameView && pendingFlash && pendingFlash.shown)
		pendingFlash = null;
	if (pendingFlash)
		pendingFlash.shown = true;
	showFlash();

	if (!target) {
		document.title = 'Not found — autocoder';
		main.replaceChildren(h('h1', { tabindex: '-1' }, 'Not found'),
			h('p', null, 'No view at ', h('code', null, location.hash), '. ',
				h('a', { href: '#/clusters' }, 'Go to the clusters.')));
		main.querySelector('h1').focus();
		return;
	}
	if (!sameView)
		main.replaceChildren(h('p', { class: 'loading', role: 'status' }, 'Loading…'));
	main.setAttribute('aria-busy', 'true');
	const ctx = { params, arg: target.arg, signal: controller.signal, navigate, flash, refresh: route };
	try {
		await (target.detail ? target.view.renderDetail(main, ctx) : target.view.render(main, ctx));
	} catch (e) {
		if (e.name === 'AbortError' || controller.signal.aborted)
			return;
		main.replaceChildren(h('h1', { tabindex: '-1' }, 'Something went wrong'),
			h('div', { class: 'error', role: 'alert' }, errorText(e)));
	}
	if (controller.signal.aborted)
		return;
	main.removeAttribute('aria-busy');
	const again = focusedId && document.getElementById(focusedId);
	if (again)
		again.focus();
	else if (!sameView && main.querySelector('h1'))
		main.querySelector('h1').focus({ preventScroll: false });
}

/* ------------------------------------------------------------ read token */

function tokenPanel() {
	const details = document.getElementById('token');
	const form = document.getElementById('token-form');
	const input = document.getElementById('token-input');
	const state = document.getElementById('token-state');
	const forget = document.getElementById('token-forget');

	const show = () => {
		const set = !!getToken();
		state.textContent = set ? 'token set' : 'no token';
		forget.hidden = !set;
	};
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		try {
			setToken(input.value.trim());
			input.value = '';
			details.open = false;
			flash(getToken() ? 'Read token saved in this browser.' : 'Read token removed.');
			show();
			route();
		} catch (e) {
			flash(errorText(e), 'bad');
		}
	});
	forget.addEventListener('click', () => {
		setToken('');
		details.open = false;
		flash('Read token removed from this browser.');
		show();
		route();
	});
	document.addEventListener('click', (ev) => {
		if (details.open && !details.contains(ev.target))
			details.open = false;
	});
	details.addEventListener('keydown', (ev) => {
		if (ev.key === 'Escape' && details.open) {
			details.open = false;
			details.querySelector('summary').focus();
		}
	});
	document.addEventListener('ac:open-token', () => {
		/* after the click that asked for it, which would otherwise close it again */
		setTimeout(() => {
			details.open = true;
			input.focus();
		});
	});
	show();
}

async function healthLine() {
	const el = document.getElementById('health');
	try {
		const hl = await getHealth();
		el.textContent = `server ${hl.status}, database ${hl.database}, queue ${hl.queue_depth}/${hl.queue_capacity}`;
	} catch (e) {
		el.textContent = `server: ${errorText(e)}`;
	}
}

tokenPanel();
window.addEventListener('hashchange', route);
if (!location.hash)
	history.replaceState(null, '', '#/clusters');
route();
healthLine();
