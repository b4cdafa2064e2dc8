/*
 * launch.mjs — one headless Chromium for a browser test: Debian's chromium through
 * playwright-core, a fresh profile under TMPDIR_TEST, the flags this closed network needs, every
 * request outside BASE aborted (a page must not reach anything but the server under test), and
 * the page's script errors collected for the test to assert on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

/* {browser, page, pageErrors}; close with browser.close(). */
export async function launchPage({ base, tmp, width = 1280, height = 900 }) {
	const profile = fs.mkdtempSync(path.join(tmp, 'chromium-'));
	const browser = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width, height },
	});
	const page = browser.pages()[0] || await browser.newPage();
	const pageErrors = [];
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => pageErrors.push(e.message));
	await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
	return { browser, page, pageErrors };
}
