/*
 * web.test.mjs — drives the web UI in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core) against a running server that tests/integration/t47-web.sh started and
 * filled: 6 payment errors with ids in their messages, 3 port conflicts (rule
 * posix.addr-in-use), SIGSEGV crashes at parse_header (2) and parse_body (1).
 *
 * Environment: BASE (server URL), TOKEN (a valid read token of the events' project),
 * TMPDIR_TEST (scratch: the browser profile, screenshots, downloads), CHROMIUM (binary).
 * The tests run in order and share one page; each checks what a maintainer would see.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE;
const TOKEN = process.env.TOKEN;
const TMP = process.env.TMPDIR_TEST;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AXE = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules/axe-core/axe.min.js');
assert.ok(BASE && TOKEN && TMP, 'BASE, TOKEN and TMPDIR_TEST must be set');

let browser, page;
const pageErrors = [];
const ids = {};     /* cluster ids by name, learned from the API */

async function api(p, init) {
	const res = await fetch(BASE + p, init);
	const body = await res.json();
	assert.equal(res.status, 200, `${p}: ${JSON.stringify(body)}`);
	return body;
}

const shot = (name) => page.screenshot({ path: path.join(TMP, `web-${name}.png`), fullPage: true });

/* The clusters table's row whose problem cell contains text. */
const clusterRow = (text) => page.locator('table.clusters tbody tr', { hasText: text });

before(async () => {
	const profile = fs.mkdtempSync(path.join(TMP, 'chromium-'));
	browser = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 900 },
		acceptDownloads: true,
	});
	page = browser.pages()[0] || await browser.newPage();
	page.setDefaultTimeout(10000);
	page.on('pageerror', (e) => pageErrors.push(e.message));
	page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
	/* only the server under test is ever contacted */
	await page.route('**/*', (route) => (route.request().url().startsWith(BASE) || route.request().url().startsWith('blob:')
		? route.continue() : route.abort()));

	const all = await api('/api/v1/clusters?status=all');
	for (const c of all.clusters)
		ids[c.template && c.template.startsWith('payment') ? 'pay' : c.rule_id === 'posix.addr-in-use' ? 'port' : c.title] = c.id;
	assert.equal(all.total, 4, `4 clusters expected: ${JSON.stringify(all)}`);
	assert.ok(ids.pay && ids.port && ids['SIGSEGV in parse_header'] && ids['SIGSEGV in parse_body'], JSON.stringify(ids));
});

after(async () => {
	if (browser)
		await browser.close();
});

test('the clusters list shows every cluster with its count, rule and sparkline', async () => {
	await page.goto(`${BASE}/`);
	await page.locator('h1', { hasText: 'Clusters' }).waitFor();
	assert.match(page.url(), /#\/clusters$/);
	await page.locator('table.clusters tbody tr').first().waitFor();
	assert.equal(await page.locator('table.clusters tbody tr').count(), 4);

	const pay = clusterRow('payment <UUID> for order <NUM> failed after <DUR>');
	assert.equal((await pay.locator('td.count').textContent()).trim(), '6');
	assert.equal((await pay.locator('.badge.norule').textContent()).trim(), 'unknown pattern');
	const port = clusterRow('Address already in use');
	assert.equal((await port.locator('td.count').textContent()).trim(), '3');
	assert.equal((await port.locator('.badge.rule').textContent()).trim(), 'posix.addr-in-use');
	assert.equal((await clusterRow('SIGSEGV in parse_header').locator('td.count').textContent()).trim(), '2');
	assert.equal((await clusterRow('SIGSEGV in parse_body').locator('td.count').textContent()).trim(), '1');
	/* sorted by count: the payment errors first */
	assert.match(await page.locator('table.clusters tbody tr').first().textContent(), /payment/);
	/* each row gets a sparkline whose text alternative has the numbers */
	const spark = pay.locator('svg.spark');
	await spark.waitFor();
	assert.match(await spark.getAttribute('aria-label'), /last 7 days: 6 events/);
	await shot('clusters');
});

test('filters narrow the list and live in the URL', async () => {
	await page.selectOption('#cl-kind', 'crash');
	await page.waitForURL(/kind=crash/);
	await page.locator('.pager [role=status]', { hasText: 'of 2' }).waitFor();
	assert.equal(await page.locator('table.clusters tbody tr').count(), 2);
	assert.equal(await clusterRow('payment').count(), 0);

	await page.goto(`${BASE}/#/clusters?q=Address`);
	await page.locator('.pager [role=status]', { hasText: 'of 1' }).waitFor();
	assert.equal(await page.inputValue('#cl-q'), 'Address');
	assert.equal(await page.locator('table.clusters tbody tr').count(), 1);

	/* last seen within the last hour: all of them (just posted) */
	const asked = page.waitForRequest((r) => /\/api\/v1\/clusters\?.*since=\d+/.test(r.url()));
	await page.goto(`${BASE}/#/clusters?within=1h`);
	const since = Number(new URL((await asked).url()).searchParams.get('since'));
	assert.ok(Math.abs(Date.now() / 1000 - 3600 - since) < 60, `since one hour ago, got ${since}`);
	await page.locator('.pager [role=status]', { hasText: 'of 4' }).waitFor();
	assert.equal(await page.inputValue('#cl-within'), '1h');

	await page.fill('#cl-q', 'no such problem anywhere');
	await page.press('#cl-q', 'Enter');
	await page.locator('.empty', { hasText: 'No clusters match' }).waitFor();
});

test('a cluster shows its rule, fix steps, grouping, series, breakdown and events', async () => {
	await page.goto(`${BASE}/#/clusters`);
	await clusterRow('Address already in use').locator('a.cluster-title').click();
	await page.waitForURL(new RegExp(`#/clusters/${ids.port}$`));
	await page.locator('h1', { hasText: 'Address already in use' }).waitFor();

	assert.equal((await page.locator('#cluster-count').textContent()).trim(), '3');
	/* the rule as the API has it (rules/posix.yaml), shown whole */
	const want = (await api(`/api/v1/clusters/${ids.port}`)).rule;
	assert.equal(want.id, 'posix.addr-in-use');
	assert.ok(want.causes.length >= 1 && want.fix.length >= 2, JSON.stringify(want));
	const rule = page.locator('section', { has: page.locator('h2#rule-h') });
	assert.equal(await rule.locator('h2').textContent(), `Rule: ${want.title}`);
	assert.deepEqual(await rule.locator('ul.causes li').allTextContents(), want.causes);
	const fix = rule.locator('ol.fix > li');
	assert.equal(await fix.count(), want.fix.length);
	assert.match(await fix.first().textContent(), /Find the process that holds the port/);
	assert.equal(await fix.first().locator('pre code').textContent(), want.fix[0].command);

	assert.match(await page.locator('section', { has: page.locator('#grouping-h') }).textContent(),
		/matched rule posix\.addr-in-use/);
	const chart = page.locator('svg.chart');
	assert.match(await chart.getAttribute('aria-label'), /3 in total/);
	assert.ok(await chart.locator('rect.bar').count() >= 1, 'a bar for the hour with events');
	const systems = page.locator('.dim', { has: page.locator('h3', { hasText: 'Systems' }) });
	assert.match(await systems.textContent(), /billing\s*3/);

	const events = page.locator('ol.events > li.event');
	assert.equal(await events.count(), 3);
	for (const port of ['8080', '8443', '9090'])
		assert.equal(await events.filter({ hasText: `bind 0.0.0.0:${port}: Address already in use` }).count(), 1);
	await shot('cluster');
});

test('resolving a cluster changes its status in the UI and through the API', async () => {
	await page.getByRole('button', { name: 'Resolve', exact: true }).click();
	await page.locator('#flash', { hasText: `Cluster #${ids.port} is now resolved.` }).waitFor();
	await page.locator('#cluster-status', { hasText: 'resolved' }).waitFor();
	await page.getByRole('button', { name: 'Reopen' }).waitFor();

	const c = await api(`/api/v1/clusters/${ids.port}`);
	assert.equal(c.status, 'resolved');
	assert.ok(c.resolved_at, 'resolved_at set');

	/* ignore and reopen the payment errors, then leave them open */
	await page.goto(`${BASE}/#/clusters/${ids.pay}`);
	await page.getByRole('button', { name: 'Ignore', exact: true }).click();
	await page.locator('#cluster-status', { hasText: 'ignored' }).waitFor();
	assert.equal((await api(`/api/v1/clusters/${ids.pay}`)).status, 'ignored');
	await page.getByRole('button', { name: 'Reopen', exact: true }).click();
	await page.locator('#cluster-status', { hasText: 'open' }).waitFor();
	assert.equal((await api(`/api/v1/clusters/${ids.pay}`)).status, 'open');

	await page.goto(`${BASE}/#/clusters?status=open`);
	await page.locator('.pager [role=status]', { hasText: 'of 3' }).waitFor();
	assert.equal(await clusterRow('Address already in use').count(), 0);
	await page.selectOption('#cl-status', 'resolved');
	await page.locator('.pager [role=status]', { hasText: 'of 1' }).waitFor();
	assert.equal(await clusterRow('Address already in use').locator('.badge.status-resolved').count(), 1);
});

test('a crash cluster shows the stack of its events', async () => {
	await page.goto(`${BASE}/#/clusters/${ids['SIGSEGV in parse_header']}`);
	await page.locator('h1', { hasText: 'SIGSEGV in parse_header' }).waitFor();
	const frames = page.locator('ol.events li.event').first().locator('ol.frames li');
	assert.equal(await frames.count(), 2);
	/* most recent call first: the crashing function, then main */
	assert.match(await frames.nth(0).textContent(), /parse_header at src\/http\.c:41/);
	assert.match(await frames.nth(1).textContent(), /main at src\/main\.c:9/);
	assert.match(await page.locator('section', { has: page.locator('#rule-h') }).textContent(), /crash\.sigsegv/);
});

test('merging moves a cluster into another', async () => {
	const from = ids['SIGSEGV in parse_body'], into = ids['SIGSEGV in parse_header'];
	await page.goto(`${BASE}/#/clusters/${from}`);
	await page.locator('h1', { hasText: 'SIGSEGV in parse_body' }).waitFor();
	await page.fill('#merge-into', String(into));
	await page.getByRole('button', { name: 'Merge', exact: true }).click();
	await page.waitForURL(new RegExp(`#/clusters/${into}$`));
	await page.locator('#flash', { hasText: `Merged cluster #${from} into #${into}` }).waitFor();
	await page.locator('#cluster-count', { hasText: '3' }).waitFor();
	const merged = await api(`/api/v1/clusters/${from}`);
	assert.equal(merged.merged_into, into);

	await page.goto(`${BASE}/#/clusters/${from}`);
	await page.locator('.notice', { hasText: 'merged into' }).waitFor();
});

test('splitting re-groups a cluster by stricter keys', async () => {
	const id = ids['SIGSEGV in parse_header'];
	await page.goto(`${BASE}/#/clusters/${id}`);
	await page.locator('#cluster-count', { hasText: '3' }).waitFor();
	await page.getByRole('button', { name: 'Split…' }).click();
	await page.locator('.confirm', { hasText: 'Split this cluster' }).waitFor();
	await page.locator('.confirm').getByRole('button', { name: 'Split', exact: true }).click();
	await page.locator('#flash', { hasText: `Split cluster #${id} into` }).waitFor();
	const notice = page.locator('.notice', { hasText: 'This cluster was split into' });
	await notice.waitFor();
	/* the two crash sites merged above come apart again: one child each */
	const children = (await api(`/api/v1/clusters/${id}`)).children;
	assert.equal(children.length, 2);
	assert.equal(await notice.locator('a').count(), 2);
	const counts = [];
	for (const child of children)
		counts.push((await api(`/api/v1/clusters/${child}`)).count);
	assert.deepEqual(counts.sort(), [1, 2]);
	assert.equal(await page.getByRole('button', { name: 'Split…' }).count(), 0, 'no actions on a split cluster');
	await notice.locator('a').first().click();
	await page.waitForURL(new RegExp(`#/clusters/${children[0]}$`));
	await page.locator('.notice', { hasText: `Split from #${id}` }).waitFor();
});

test('API errors are shown with their detail text', async () => {
	await page.goto(`${BASE}/#/clusters/999999`);
	await page.locator('[role=alert]', { hasText: 'no cluster 999999' }).waitFor();
	assert.match(await page.locator('[role=alert]').textContent(), /HTTP 404 not_found/);

	/* merging into a cluster that does not exist */
	await page.goto(`${BASE}/#/clusters/${ids.pay}`);
	await page.locator('h1', { hasText: /./ }).first().waitFor();
	await page.fill('#merge-into', '999999');
	await page.getByRole('button', { name: 'Merge', exact: true }).click();
	await page.locator('.action-result [role=alert]').waitFor();
	assert.match(await page.locator('.action-result [role=alert]').textContent(), /HTTP 4\d\d/);
	assert.equal((await api(`/api/v1/clusters/${ids.pay}`)).merged_into, null);
});

test('the events explorer filters, pages and opens an event', async () => {
	await page.goto(`${BASE}/#/events`);
	await page.locator('table.events-table tbody tr').first().waitFor();
	assert.equal(await page.locator('table.events-table tbody tr').count(), 12);

	await page.goto(`${BASE}/#/events?kind=crash`);
	await page.locator('.pager [role=status]', { hasText: '3 events' }).waitFor();
	assert.equal(await page.locator('table.events-table tbody tr').count(), 3);

	await page.goto(`${BASE}/#/events?limit=25&level=error`);
	await page.locator('.pager [role=status]', { hasText: '9 events' }).waitFor();

	/* cursor paging: 5 per page (a hash the form does not offer, but the API accepts) */
	await page.goto(`${BASE}/#/events?limit=5`);
	await page.locator('.pager [role=status]', { hasText: '5 events, newest first' }).waitFor();
	const first = await page.locator('table.events-table tbody tr').first().textContent();
	await page.getByRole('link', { name: 'Older →' }).click();
	await page.waitForURL(/before=\d+/);
	await page.locator('.pager [role=status]', { hasText: '(older page)' }).waitFor();
	assert.notEqual(await page.locator('table.events-table tbody tr').first().textContent(), first);

	await page.goto(`${BASE}/#/events?q=Address`);
	await page.locator('.pager [role=status]', { hasText: '3 events' }).waitFor();
	await page.locator('table.events-table tbody tr td.msg a').first().click();
	await page.waitForURL(/#\/events\/[0-9a-f]+$/);
	const json = JSON.parse(await page.locator('pre.json').textContent());
	assert.match(json.message, /Address already in use/);
	assert.equal(json.cluster_id, ids.port);
	assert.ok(page.url().endsWith(json.event_id));
	await page.locator(`a[href="#/clusters/${ids.port}"]`).first().waitFor();
	assert.doesNotMatch(await page.locator('main').innerText(), /nullnull|undefined|\[object /);
	await shot('event');
});

test('the guide is embedded and downloads as Markdown', async () => {
	await page.goto(`${BASE}/#/guide`);
	const frame = page.frameLocator('iframe.guide');
	await frame.locator('h1', { hasText: 'Debugging guide' }).waitFor();
	assert.match(await frame.locator('body').textContent(), /SIGSEGV/);
	assert.match(await frame.locator('body').textContent(), /payment <UUID> for order <NUM>/);

	const [download] = await Promise.all([
		page.waitForEvent('download'),
		page.getByRole('button', { name: 'Download Markdown' }).click(),
	]);
	assert.match(download.suggestedFilename(), /^autocoder-guide-\d{4}-\d\d-\d\d\.md$/);
	const file = path.join(TMP, 'guide.md');
	await download.saveAs(file);
	const md = fs.readFileSync(file, 'utf8');
	assert.match(md, /^# Debugging guide/m);
	assert.match(md, /SIGSEGV/);
	await shot('guide');
});

test('a read token is stored in the browser and sent; a bad one shows the 401 detail', async () => {
	await page.goto(`${BASE}/#/clusters`);
	await page.locator('#token summary').click();
	await page.fill('#token-input', 'act_not_a_real_token');
	await page.getByRole('button', { name: 'Save' }).click();
	await page.locator('[role=alert]', { hasText: 'HTTP 401' }).waitFor();
	assert.equal(await page.evaluate(() => localStorage.getItem('autocoder.readToken')), 'act_not_a_real_token');
	assert.equal(await page.locator('#token-state').textContent(), 'token set');

	await page.getByRole('button', { name: 'Set a read token' }).click();
	await page.fill('#token-input', TOKEN);
	await page.getByRole('button', { name: 'Save' }).click();
	await page.locator('table.clusters tbody tr').first().waitFor();
	assert.equal(await page.locator('[role=alert]').count(), 0);

	/* the token survives a reload and is what authorises the requests */
	const sent = page.waitForRequest((r) => r.url().includes('/api/v1/clusters'));
	await page.reload();
	assert.equal((await sent).headers().authorization, `Bearer ${TOKEN}`);
	await page.locator('table.clusters tbody tr').first().waitFor();

	await page.locator('#token summary').click();
	await page.getByRole('button', { name: 'Forget' }).click();
	assert.equal(await page.evaluate(() => localStorage.getItem('autocoder.readToken')), null);
	assert.equal(await page.locator('#token-state').textContent(), 'no token');
	assert.equal(await page.locator('#token').getAttribute('open'), null, 'the panel closes');
	await page.locator('table.clusters tbody tr').first().waitFor();
});

/* axe-core's WCAG A/AA checks on the rendered view; the guide's own page (an iframe of the
 * server's HTML) is the guide writer's and is left out. */
async function axeViolations() {
	await page.addScriptTag({ path: AXE });
	return page.evaluate(async () => {
		const r = await window.axe.run({ exclude: [['iframe.guide']] },
			{ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
		return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
	});
}

test('every view passes the accessibility checks', async () => {
	const views = [
		['#/clusters', 'table.clusters svg.spark'],
		[`#/clusters/${ids.port}`, 'svg.chart'],
		[`#/clusters/${ids.pay}`, 'ol.events'],
		['#/events', 'table.events-table'],
		['#/guide', 'iframe.guide'],
		['#/bench', 'p.empty'],   /* no `autocoder bench` runs in this database */
	];
	for (const [hash, ready] of views) {
		await page.goto(`${BASE}/${hash}`);
		await page.locator(ready).first().waitFor();
		assert.deepEqual(await axeViolations(), [], `accessibility of ${hash}`);
	}
	for (const scheme of ['dark', 'light']) {
		await page.emulateMedia({ colorScheme: scheme });
		await page.goto(`${BASE}/#/clusters/${ids.port}`);
		await page.locator('svg.chart').waitFor();
		assert.deepEqual(await axeViolations(), [], `accessibility in the ${scheme} scheme`);
	}
	await page.emulateMedia({ colorScheme: 'dark' });
	await shot('cluster-dark');
	await page.emulateMedia({ colorScheme: 'light' });
});

test('a resolved cluster that recurs shows as a regression', async () => {
	const res = await fetch(`${BASE}/api/v1/events`, {
		method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
		body: JSON.stringify({ message: 'bind 0.0.0.0:7070: Address already in use', level: 'error', system: 'billing' }),
	});
	assert.equal(res.status, 200, await res.text());
	let c;
	for (let i = 0; i < 100; i++) {
		c = await api(`/api/v1/clusters/${ids.port}`);
		if (c.count === 4)
			break;
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.equal(c.count, 4, 'the new event joined the resolved cluster within 10 s');
	assert.equal(c.status, 'open');

	await page.goto(`${BASE}/#/clusters?status=open&sort=last_seen`);
	const row = clusterRow('Address already in use');
	await row.locator('.badge.regression').waitFor();
	assert.equal((await row.locator('td.count').textContent()).trim(), '4');
	assert.equal(await page.locator('table.clusters tbody tr').first().getAttribute('data-cluster-id'), String(ids.port),
		'newest first when sorted by last seen');
	await row.locator('a.cluster-title').click();
	await page.locator('dl.numbers', { hasText: 'Regressed' }).waitFor();
	await page.locator('ol.events > li.event', { hasText: 'bind 0.0.0.0:7070' }).waitFor();
});

test('no script errors on any page', () => {
	/* the failed calls above were expected; only uncaught errors count */
	const uncaught = pageErrors.filter((e) => !e.startsWith('console: Failed to load resource'));
	assert.deepEqual(uncaught, []);
});
