/*
 * report.test.mjs — the "Report a problem" page (web/report.html) in headless Chromium
 * (playwright-core, Debian's chromium), against the server tests/integration/t36-report-page.sh
 * started without --open-read. The project already has other clusters (OTHER_TITLE); a user
 * with only the DSN uploads a log file with a note: the page shows the upload progress and
 * exactly the cluster the log landed in, with its rule, and not the project's other clusters.
 * A bad DSN is reported on the page. axe-core checks accessibility.
 *
 * Environment: BASE, DSN, OTHER_TITLE, LOG_FILE, TMPDIR_TEST, CHROMIUM.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchPage } from './launch.mjs';

const { BASE, DSN, OTHER_TITLE, LOG_FILE } = process.env;
const TMP = process.env.TMPDIR_TEST;
const AXE = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules/axe-core/axe.min.js');
assert.ok(BASE && DSN && OTHER_TITLE && LOG_FILE && TMP, 'BASE, DSN, OTHER_TITLE, LOG_FILE, TMPDIR_TEST');

let browser, page, pageErrors;

before(async () => {
	({ browser, page, pageErrors } = await launchPage({ base: BASE, tmp: TMP, width: 1100 }));
});

after(async () => { await browser?.close(); });

test('a bad DSN is refused on the page', async () => {
	await page.goto(`${BASE}/web/report.html`);
	await page.fill('#dsn', 'not a dsn');
	await page.fill('#paste', 'ERROR something');
	await page.click('#send');
	await page.locator('#status', { hasText: 'Not sent: the DSN must look like' }).waitFor();
});

test('a log file with a note lands in its cluster, and only that one is shown', async () => {
	await page.goto(`${BASE}/web/report.html`);
	await page.fill('#dsn', DSN);
	await page.setInputFiles('#file', LOG_FILE);
	await page.fill('#note', 'started a second copy of the service');
	await page.fill('#contact', 'beta@example.org');
	await page.click('#send');
	await page.locator('#status', { hasText: 'Thank you: 3 events received, in 1 problem' }).waitFor();
	assert.equal(await page.locator('#progress').evaluate((p) => p.value), 100);
	const rows = page.locator('#result-rows tr');
	assert.equal(await rows.count(), 1);
	const cells = await rows.first().locator('td').allTextContents();
	assert.match(cells[0], /Address already in use/);
	assert.equal(cells[1], 'posix.addr-in-use');
	assert.equal(cells[2], '3');
	assert.ok(!(await page.locator('#result').textContent()).includes(OTHER_TITLE), 'no other cluster shown');
	await page.screenshot({ path: path.join(TMP, 'report.png'), fullPage: true });
});

test('the DSN is remembered and the page is accessible', async () => {
	await page.goto(`${BASE}/web/report.html`);
	assert.equal(await page.inputValue('#dsn'), DSN);
	await page.addScriptTag({ path: AXE });
	const res = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
	const serious = res.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
	assert.deepEqual(serious.map((v) => `${v.id}: ${v.help}`), []);
});

test('no script errors', () => {
	assert.deepEqual(pageErrors, []);
});
