/*
 * faults.test.mjs — the Faults page (#/faults) and the cluster page's feedback form in headless
 * Chromium (playwright-core, Debian's chromium), against the server
 * tests/integration/t37-faults-feedback-web.sh started without --open-read, after one real
 * `autocoder faults run` stored its outcome in the server's database. The read token is saved
 * through the page's token form. The Faults page must list the run (rule, fault, validated,
 * system, evidence ids linked to the event view, and what the evidence said); the form "Did
 * fix step N work?" on the cluster page must store a report and show the server's answer: the
 * stored id, a 400 detail, and a 429 detail once the project's feedback budget is spent.
 * axe-core checks both pages.
 *
 * Environment: BASE, TOKEN, CLUSTER (a cluster id with a rule), EVID (an evidence event id of
 * the run), TMPDIR_TEST, CHROMIUM.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchPage } from './launch.mjs';

const { BASE, TOKEN, CLUSTER, EVID } = process.env;
const TMP = process.env.TMPDIR_TEST;
const AXE = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules/axe-core/axe.min.js');
assert.ok(BASE && TOKEN && CLUSTER && EVID && TMP, 'BASE, TOKEN, CLUSTER, EVID, TMPDIR_TEST');

let browser, page, pageErrors;

before(async () => {
	({ browser, page, pageErrors } = await launchPage({ base: BASE, tmp: TMP, width: 1280 }));
});

after(async () => { await browser?.close(); });

async function axeSerious() {
	await page.addScriptTag({ path: AXE });
	const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
	return res.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${v.id}: ${v.help}`);
}

test('without a token the Faults page shows the 401 detail; with one it lists the run', async () => {
	await page.goto(`${BASE}/#/faults`);
	await page.locator('.error', { hasText: 'Loading the fault runs failed.' }).waitFor();
	await page.locator('#token summary').click();
	await page.fill('#token-input', TOKEN);
	await page.locator('#token-form button[type=submit]').click();
	const row = page.locator('#fault-runs tbody tr[data-fault="malformed-api-input"]');
	await row.waitFor();
	assert.equal(await page.locator('#fault-runs tbody tr').count(), 1);
	const cells = await row.locator('td').allTextContents();
	assert.equal(cells[0], 'json.parse-error');
	assert.equal(cells[1], 'malformed-api-input');
	assert.match(cells[2], /^validated/);
	assert.equal(cells[5], 'todo_api');
	const link = row.locator(`a[href="#/events/${EVID}"]`);
	assert.equal(await link.textContent(), EVID);
	/* what the event said is kept with the run (samples), readable without the run's database */
	assert.match(await row.locator('.evidence-message').first().textContent(), /invalid JSON body/);
	assert.match(await page.locator('#fault-runs caption').textContent(), /1 of 1 faults validated/);
	assert.equal(await page.locator('nav.site a[data-section="faults"]').getAttribute('aria-current'), 'page');
	await page.screenshot({ path: path.join(TMP, 'faults.png'), fullPage: true });
	assert.deepEqual(await axeSerious(), []);
	await link.click();
	await page.waitForURL(`**/#/events/${EVID}`);
});

test('the cluster page stores feedback on a fix step and shows the answer', async () => {
	await page.goto(`${BASE}/#/clusters/${CLUSTER}`);
	await page.locator('#feedback-form').waitFor();
	await page.fill('#fb-fix', '1');
	await page.check('#fb-worked');
	await page.fill('#fb-text', 'freed the port, it starts now');
	await page.fill('#fb-contact', 'beta@example.org');
	await page.click('#fb-send');
	await page.locator('#fb-result', { hasText: /Thank you: feedback #\d+ stored \(fix step 1 worked\)\./ }).waitFor();
	assert.equal(await page.inputValue('#fb-text'), '', 'the text is cleared after sending');
	assert.deepEqual(await axeSerious(), []);

	/* "another cause" without saying which: the server's 400 detail is shown */
	await page.check('#fb-other_cause');
	await page.click('#fb-send');
	await page.locator('#fb-result .error', { hasText: "HTTP 400 invalid_field: outcome 'other_cause' needs 'text'" }).waitFor();
});

test('past the project\'s feedback budget the form shows the 429 detail', async () => {
	let status = 0;
	for (let i = 0; i < 40 && status !== 429; i++) {
		const res = await fetch(`${BASE}/api/v1/clusters/${CLUSTER}/feedback`, {
			method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
			body: JSON.stringify({ outcome: 'failed', fix: 2, text: 'budget' }),
		});
		status = res.status;
		assert.ok(status === 201 || status === 429, `feedback POST answered ${status}`);
	}
	assert.equal(status, 429, 'the rate limit never answered 429');
	await page.check('#fb-worked');
	await page.fill('#fb-text', 'one more');
	await page.click('#fb-send');
	await page.locator('#fb-result .error', { hasText: /HTTP 429 rate_limited: too much feedback from this project; retry in \d+ s/ }).waitFor();
});

test('no script errors', () => {
	assert.deepEqual(pageErrors, []);
});
