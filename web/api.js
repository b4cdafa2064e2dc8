/*
 * api.js — the collector's read API (docs/API.md) as promise-returning functions.
 *
 * Every call goes to the server that served this page. A read token, when the user saved one,
 * is kept in localStorage and sent as "Authorization: Bearer"; without one the server answers
 * only when it runs with --open-read on loopback. A failed call rejects with an ApiError that
 * carries the HTTP status and the server's {"error", "detail"} so views can show the detail
 * text as it is.
 */

const TOKEN_KEY = 'autocoder.readToken';

export function getToken() {
	try {
		return localStorage.getItem(TOKEN_KEY) || '';
	} catch {
		return ''; /* storage disabled: behave as if no token was saved */
	}
}

export function setToken(token) {
	try {
		if (token)
			localStorage.setItem(TOKEN_KEY, token);
		else
			localStorage.removeItem(TOKEN_KEY);
	} catch {
		throw new Error('this browser does not allow saving the token (localStorage is disabled)');
	}
}

export class ApiError extends Error {
	constructor(status, code, detail) {
		super(detail);
		this.name = 'ApiError';
		this.status = status;   /* 0: the server could not be reached */
		this.code = code;
		this.detail = detail;
	}
}

/* Query parameters from an object, skipping empty values so URLs stay short. */
function buildUrl(path, params) {
	const url = new URL(path, location.origin);
	for (const [k, v] of Object.entries(params || {}))
		if (v !== undefined && v !== null && v !== '')
			url.searchParams.set(k, String(v));
	return url;
}

async function errorFrom(res) {
	let code = `http_${res.status}`, detail = res.statusText || `HTTP ${res.status}`;
	try {
		const body = await res.json();
		if (body && typeof body.error === 'string')
			code = body.error;
		if (body && typeof body.detail === 'string')
			detail = body.detail;
	} catch {
		/* not JSON (a proxy's page): keep the status text */
	}
	return new ApiError(res.status, code, detail);
}

async function request(method, path, { params, body, text, signal } = {}) {
	const headers = { Accept: text ? 'text/*' : 'application/json' };
	const token = getToken();
	if (token)
		headers.Authorization = `Bearer ${token}`;
	/* every change is JSON, also a split without a body: with --open-read the server accepts
	 * a change without an admin token only as a same-origin application/json request */
	if (body !== undefined || method !== 'GET')
		headers['Content-Type'] = 'application/json';
	let res;
	try {
		res = await fetch(buildUrl(path, params), {
			method, headers, signal, cache: 'no-store',
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'unreachable', `cannot reach the server: ${e.message}`);
	}
	if (!res.ok)
		throw await errorFrom(res);
	return text ? res.text() : res.json();
}

const enc = encodeURIComponent;

/* {clusters, total, next_offset}; params: q status system component level kind sort limit offset */
export const listClusters = (params, signal) => request('GET', '/api/v1/clusters', { params, signal });

/* One cluster with rule, dims, hourly, events, grouping, children. */
export const getCluster = (id, events, signal) =>
	request('GET', `/api/v1/clusters/${enc(id)}`, { params: { events }, signal });

/* status: open | resolved | ignored; resolves to the cluster's new detail */
export const setClusterStatus = (id, status) =>
	request('POST', `/api/v1/clusters/${enc(id)}/status`, { body: { status } });

/* Merge the clusters `from` (ids) into `into`; resolves to into's detail. */
export const mergeClusters = (into, from) =>
	request('POST', '/api/v1/clusters/merge', { body: { into, from } });

/* Resolves to {cluster, children: [ids]}. */
export const splitCluster = (id) => request('POST', `/api/v1/clusters/${enc(id)}/split`);

/* {events, next}; params: system component level kind release environment q since until limit before */
export const listEvents = (params, signal) => request('GET', '/api/v1/events', { params, signal });

export const getEvent = (eventId, signal) =>
	request('GET', `/api/v1/events/${enc(eventId)}`, { signal });

/* The guide as text; format: html | md */
export const getGuide = (format, params, signal) =>
	request('GET', '/api/v1/guide', { params: { ...params, format }, text: true, signal });

/* {deliveries: [...]}, newest first; params: limit */
export const listAlertDeliveries = (params, signal) =>
	request('GET', '/api/v1/alerts/deliveries', { params, signal });
/* {runs: [{id, system, started, host, load_average, baseline, passed, headline, result}]} */
export const listBenchRuns = (params, signal) => request('GET', '/api/v1/bench/runs', { params, signal });

export const getHealth = (signal) => request('GET', '/health', { signal });

/* {runs: [{id, fault, rule, outcome, fix, date, system, version, events, evidence, detail,
 * stale, last_validated, runs}]}: the newest fault-injection run per (rule, fault); params: limit */
export const listFaultRuns = (params, signal) => request('GET', '/api/v1/faults/runs', { params, signal });

/* Feedback on a cluster's fix: body {outcome: worked|failed|other_cause, fix, text, contact};
 * resolves to the stored report. */
export const sendClusterFeedback = (id, body) =>
	request('POST', `/api/v1/clusters/${enc(id)}/feedback`, { body });
