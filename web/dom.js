/*
 * dom.js — small helpers shared by the views: building elements, links into the hash router,
 * formatting times and numbers, badges, error boxes and stack frames.
 *
 * Elements are built with h(tag, attrs, ...children): strings become text nodes, so nothing
 * the server returns is ever parsed as HTML (event messages are untrusted input).
 */
import { ApiError } from './api.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else if (k === 'value' && 'value' in el && el.namespaceURI !== SVG_NS)
			el.value = v;
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
}

function append(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

/* An HTML element. attrs: attributes, on<event> handlers, dataset. */
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	setAttrs(el, attrs);
	append(el, children);
	return el;
}

/* An SVG element (same calling convention). */
export function s(tag, attrs, ...children) {
	const el = document.createElementNS(SVG_NS, tag);
	setAttrs(el, attrs);
	append(el, children);
	return el;
}

/* "#/path?k=v" with empty parameters left out. */
export function hashLink(path, params) {
	const qs = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v !== undefined && v !== null && v !== '')
			qs.set(k, String(v));
	const q = qs.toString();
	return `#/${path}${q ? `?${q}` : ''}`;
}

export function clusterLink(id, text) {
	return h('a', { href: hashLink(`clusters/${id}`) }, text ?? `#${id}`);
}

export const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en') : '–');

/* "2026-11-24 10:00:00 UTC" */
export function fmtUtc(iso) {
	const d = new Date(iso);
	if (!iso || isNaN(d))
		return '–';
	return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function fmtAgo(iso, now = Date.now()) {
	const t = Date.parse(iso);
	if (!iso || isNaN(t))
		return '–';
	const sec = Math.round((now - t) / 1000);
	if (sec < 0)
		return 'in the future';
	if (sec < 60)
		return `${sec} s ago`;
	const steps = [[60, 'min'], [3600, 'h'], [86400, 'd']];
	for (let i = steps.length - 1; i >= 0; i--)
		if (sec >= steps[i][0])
			return `${Math.floor(sec / steps[i][0])} ${steps[i][1]} ago`;
	return `${sec} s ago`;
}

/* A <time> showing "5 min ago" with the exact UTC time as its tooltip. */
export function timeEl(iso) {
	if (!iso)
		return h('span', { class: 'muted' }, '–');
	return h('time', { datetime: iso, title: fmtUtc(iso) }, fmtAgo(iso));
}

export function badge(text, kind, title) {
	return h('span', { class: `badge ${kind || ''}`.trim(), title }, text);
}

export const statusBadge = (status) => badge(status || '?', `status-${status}`, `status: ${status}`);
export const levelBadge = (level) => badge(level || '?', `level-${level}`, `level: ${level}`);

export function ruleBadge(ruleId) {
	return ruleId ? badge(ruleId, 'rule', `matched rule ${ruleId}`)
		: badge('unknown pattern', 'norule', 'no rule matches this pattern yet');
}

/* The visible text of an API failure: "HTTP 404 not_found: no cluster 99". */
export function errorText(e) {
	if (e instanceof ApiError)
		return e.status ? `HTTP ${e.status} ${e.code}: ${e.detail}` : e.detail;
	return e && e.message ? e.message : String(e);
}

/* An alert box for a failed call; a 401/403 offers the token form. */
export function errorBox(e, what) {
	const box = h('div', { class: 'error', role: 'alert' },
		h('strong', null, what ? `${what} failed. ` : 'Request failed. '),
		h('span', { class: 'detail' }, errorText(e)));
	if (e instanceof ApiError && (e.status === 401 || e.status === 403))
		box.append(' ', h('button', {
			type: 'button', class: 'link',
			onclick: () => document.dispatchEvent(new CustomEvent('ac:open-token')),
		}, 'Set a read token'));
	return box;
}

/* One line per frame, the frame that raised first (most recent call first). */
export function framesEl(exception) {
	const frames = exception && Array.isArray(exception.frames) ? exception.frames : [];
	if (!frames.length)
		return h('p', { class: 'muted' }, 'No stack frames.');
	const items = frames.slice().reverse().map((f) => {
		const where = [f.file, f.line, f.column].filter((x) => x !== undefined && x !== null && x !== '').join(':');
		return h('li', { class: f.in_app ? 'frame in-app' : 'frame' },
			h('code', { class: 'fn' }, f.function || f.address || '?'),
			where ? [' at ', h('code', null, where)] : null,
			f.module || f.package ? h('span', { class: 'muted' }, ` (${f.module || f.package})`) : null,
			f.in_app ? h('span', { class: 'visually-hidden' }, ' (in app)') : null);
	});
	return h('ol', { class: 'frames', 'aria-label': 'stack frames, most recent call first' }, items);
}

/* "Type: value" of an event's exception, or its message. */
export function eventSummary(ev) {
	const x = ev.exception;
	if (x && (x.type || x.value)) {
		const head = [x.type, x.value].filter(Boolean).join(': ');
		return ev.message && ev.message !== x.value ? `${head} — ${ev.message}` : head;
	}
	return ev.message || '(no message)';
}

/* A definition list from [label, value] pairs, skipping empty values. */
export function defList(pairs, cls) {
	const dl = h('dl', { class: cls || 'facts' });
	for (const [k, v] of pairs) {
		if (v === undefined || v === null || v === '')
			continue;
		dl.append(h('div', null, h('dt', null, k), h('dd', null, v)));
	}
	return dl;
}
