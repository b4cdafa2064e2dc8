/*
 * attack.test.mjs — what a hostile web page can do to a collector running with --open-read on
 * the same machine (tests/integration/t18-web-attacks.sh starts both). Headless Chromium loads
 * a page from another origin (EVIL, a static server on another port) and from a rebound DNS
 * name (evil.test mapped to 127.0.0.1 with --host-resolver-rules), and the UI itself with event
 * text crafted to inject markup.
 *
 * Environment: BASE (collector), EVIL (the other origin), PUBKEY/PROJECT_ID (a DSN key, for the
 * cross-origin ingest browser SDKs need), CLUSTER (an open cluster id), TMPDIR_TEST, CHROMIUM.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const { BASE, EVIL, PUBKEY, PROJECT_ID, CLUSTER, TMPDIR_TEST: TMP } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(BASE && EVIL && PUBKEY && CLUSTER && TMP, 'BASE, EVIL, PUBKEY, CLUSTER, TMPDIR_TEST must be set');
const port = new URL(BASE).port;

let browser, page;

before(async () => {
	const profile = fs.mkdtempSync(path.join(TMP, 'chromium-attack-'));
	browser = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
			'--host-resolver-rules=MAP evil.test 127.0.0.1'],
	});
	page = browser.pages()[0] || await browser.newPage();
	page.setDefaultTimeout(10000);
});

after(async () => { await browser?.close(); });

async function clusterStatus() {
	const res = await fetch(`${BASE}/api/v1/clusters/${CLUSTER}`);
	return (await res.json()).status;
}

test('a page from another origin cannot read events or change clusters', async () => {
	await page.goto(`${EVIL}/evil.html`);
	const r = await page.evaluate(async ({ base, cluster, pub, pid }) => {
		const out = {};
		try { await fetch(`${base}/api/v1/events`); out.read = 'readable'; } catch { out.read = 'blocked'; }
		try { await fetch(`${base}/api/v1/clusters`); out.clusters = 'readable'; } catch { out.clusters = 'blocked'; }
		/* CSRF: a "simple" text/plain POST needs no preflight and is sent */
		await fetch(`${base}/api/v1/clusters/${cluster}/status`, { method: 'POST', mode: 'no-cors',
			headers: { 'Content-Type': 'text/plain' }, body: '{"status":"ignored"}' });
		try {
			await fetch(`${base}/api/v1/clusters/${cluster}/status`, { method: 'POST',
				headers: { 'Content-Type': 'application/json' }, body: '{"status":"ignored"}' });
			out.json = 'sent';
		} catch { out.json = 'blocked'; }
		/* what browser SDKs need: cross-origin ingest with the DSN key */
		try {
			const res = await fetch(`${base}/api/${pid}/store/?sentry_key=${pub}`, { method: 'POST',
				body: JSON.stringify({ message: 'from a browser SDK on another origin' }) });
			out.ingest = res.status;
		} catch (e) { out.ingest = `blocked: ${e.message}`; }
		return out;
	}, { base: BASE, cluster: CLUSTER, pub: PUBKEY, pid: PROJECT_ID });
	assert.equal(r.read, 'blocked', 'events readable cross-origin');
	assert.equal(r.clusters, 'blocked', 'clusters readable cross-origin');
	assert.equal(r.json, 'blocked', 'a JSON change passed the CORS preflight');
	assert.equal(r.ingest, 200, 'cross-origin ingest (browser SDKs) must work');
	/* a cross-site form post, the classic CSRF */
	await page.setContent(`<form id="f" method="POST" enctype="text/plain" action="${BASE}/api/v1/clusters/${CLUSTER}/status">
		<input name='{"status":"ignored","x":"' value='"}'></form>`);
	await Promise.all([page.waitForNavigation().catch(() => {}), page.evaluate(() => document.getElementById('f').submit())]);
	assert.equal(await clusterStatus(), 'open', 'a cross-origin request changed the cluster');
});

test('DNS rebinding: the collector refuses a foreign Host', async () => {
	const res = await page.goto(`http://evil.test:${port}/api/v1/events`);
	assert.equal(res.status(), 403);
	assert.match(await res.text(), /forbidden_host/);
});

test('event text cannot inject markup into the UI', async () => {
	const dialogs = [];
	page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
	for (const view of ['#/events', '#/clusters', '#/guide', `#/clusters/${CLUSTER}`]) {
		await page.goto(`${BASE}/${view}`);
		await page.waitForTimeout(300);
		await page.locator('main').first().waitFor();
		for (const f of page.frames())
			assert.equal(await f.evaluate(() => window.__xss || 0).catch(() => 0), 0, `script ran in ${view}`);
		assert.equal(await page.locator('main img[src="x"]').count(), 0, `an <img> from event text in ${view}`);
	}
	assert.deepEqual(dialogs, []);
});
