/*
 * guide.js — the debugging guide (#/guide?limit=N): GET /api/v1/guide?format=html shown in a
 * sandboxed iframe (the guide is a whole HTML page with its own styles; the sandbox lets no
 * script run in it), and the same guide as Markdown for download.
 *
 * Both are fetched with the read token, so the Markdown link is a button that downloads a
 * Blob rather than a plain link the browser would request without the token.
 */
import { getGuide } from './api.js';
import { h, hashLink, errorBox } from './dom.js';

function saveText(text, name, type) {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = h('a', { href: url, download: name });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/* Grow the frame to its document so the page, not the frame, scrolls. */
function fitFrame(frame) {
	try {
		const doc = frame.contentDocument;
		if (doc && doc.documentElement)
			frame.style.height = `${doc.documentElement.scrollHeight + 24}px`;
	} catch {
		/* a browser that isolates the frame: keep the CSS height and let it scroll */
	}
}

export async function render(main, ctx) {
	const limit = ctx.params.get('limit') || '25';
	document.title = 'Guide — autocoder';
	const status = h('div', { class: 'action-result', 'aria-live': 'polite' });
	const mdButton = h('button', { type: 'button', id: 'guide-md', class: 'secondary', onclick: async () => {
		status.replaceChildren();
		try {
			const md = await getGuide('md', { limit });
			const day = new Date().toISOString().slice(0, 10);
			saveText(md, `autocoder-guide-${day}.md`, 'text/markdown');
		} catch (e) {
			status.replaceChildren(errorBox(e, 'Downloading the Markdown guide'));
		}
	} }, 'Download Markdown');
	const limitSel = h('select', { id: 'guide-limit', name: 'limit', onchange: (ev) => ctx.navigate(hashLink('guide', { limit: ev.target.value })) },
		['10', '25', '50', '100'].map((v) => h('option', { value: v, selected: v === limit }, v)));
	const head = [
		h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Debugging guide'),
			h('div', { class: 'row' }, h('label', { for: 'guide-limit' }, 'Problems'), limitSel, mdButton,
				h('button', { type: 'button', class: 'secondary', onclick: () => ctx.refresh() }, 'Refresh'))),
		h('p', { class: 'help' }, 'Ranked by impact; every number comes from the stored cluster counts. ',
			'Each entry names its cluster: open it from ', h('a', { href: '#/clusters' }, 'the clusters list'), ' to act on it.'),
		status,
	];
	let html;
	try {
		html = await getGuide('html', { limit }, ctx.signal);
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		main.replaceChildren(...head, errorBox(e, 'Loading the guide'));
		return;
	}
	if (ctx.signal.aborted)
		return;
	const frame = h('iframe', { class: 'guide', title: 'Debugging guide', sandbox: 'allow-same-origin allow-popups' });
	frame.addEventListener('load', () => fitFrame(frame));
	frame.srcdoc = html;
	main.replaceChildren(...head, frame);
}
