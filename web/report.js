/*
 * report.js — the "Report a problem" page (web/report.html). With only a DSN (its public key
 * is an ingest key), it uploads what the user gives: a crash report JSON (an object with
 * "signal") to /api/v1/crashes, JSON events (an object, an array, JSON lines) to
 * /api/v1/events, anything else as text log lines to /api/v1/logs — every event carrying the
 * note and contact in context.report. Upload progress comes from XMLHttpRequest; then the page
 * asks POST /api/v1/report/clusters which clusters the acknowledged event ids landed in
 * (polling while they are still being clustered) and shows only those.
 */

const DSN_KEY = 'autocoder.reportDsn';
const $ = (id) => document.getElementById(id);

function parseDsn(dsn) {
	const m = /^(https?):\/\/([^@/:]+)(?::[^@/]*)?@([^/]+)\/?(.*)$/.exec(dsn.trim());
	if (!m)
		throw new Error('the DSN must look like http://KEY@host:port/PROJECT');
	return { key: m[2], base: `${m[1]}://${m[3]}` };
}

const LEVEL = /\b(FATAL|CRITICAL|ERROR|WARN(?:ING)?|INFO|DEBUG)\b/;

/* What to send where: [route, body, content type]. */
function prepare(text, report) {
	const trimmed = text.trim();
	if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
		let doc = null;
		try { doc = JSON.parse(trimmed); } catch { /* JSON lines, or text */ }
		if (doc && !Array.isArray(doc) && doc.signal !== undefined)
			return ['/api/v1/crashes', JSON.stringify({ ...doc, report }), 'application/json'];
		let events = doc ? (Array.isArray(doc) ? doc : [doc]) : null;
		if (!events) {
			try { events = trimmed.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)); } catch { events = null; }
		}
		if (events && events.every((e) => e && typeof e === 'object' && !Array.isArray(e))) {
			const body = events.map((e) => JSON.stringify({ ...e, context: { ...(e.context || {}), report } })).join('\n');
			return ['/api/v1/events', body, 'application/x-ndjson'];
		}
	}
	const lines = text.split('\n').filter((l) => l.trim());
	const body = lines.map((l) => {
		const m = LEVEL.exec(l);
		const ev = { message: l, context: { report } };
		if (m)
			ev.level = m[1].toLowerCase().replace('critical', 'fatal');
		return JSON.stringify(ev);
	}).join('\n');
	return ['/api/v1/logs', body, 'application/x-ndjson'];
}

function upload(base, key, route, body, ctype) {
	return new Promise((resolve, reject) => {
		const xhr = new XMLHttpRequest();
		xhr.open('POST', base + route);
		xhr.setRequestHeader('Authorization', `Bearer ${key}`);
		xhr.setRequestHeader('Content-Type', ctype);
		xhr.upload.onprogress = (e) => {
			if (!e.lengthComputable)
				return;
			const pct = Math.round((100 * e.loaded) / e.total);
			$('progress').value = pct;
			$('progress-text').textContent = `${pct} % (${e.loaded} of ${e.total} bytes)`;
		};
		xhr.onload = () => {
			let reply = {};
			try { reply = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
			if (xhr.status === 200) {
				$('progress').value = 100;
				resolve(reply);
			} else {
				reject(new Error(`${xhr.status} ${reply.error || ''}: ${reply.detail || xhr.statusText}`));
			}
		};
		xhr.onerror = () => reject(new Error('the collector could not be reached'));
		xhr.send(body);
	});
}

async function landed(base, key, ids) {
	for (let i = 0; i < 50; i++) {
		const res = await fetch(`${base}/api/v1/report/clusters`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
			body: JSON.stringify({ ids }),
		});
		const reply = await res.json();
		if (res.status !== 200)
			throw new Error(`${res.status} ${reply.error}: ${reply.detail}`);
		if (!reply.pending)
			return reply.clusters;
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error('your events are stored but not grouped yet; look again later');
}

function show(clusters) {
	const rows = $('result-rows');
	rows.replaceChildren();
	for (const c of clusters) {
		const tr = document.createElement('tr');
		for (const v of [c.title, c.rule_id || 'not a known problem yet', String(c.yours), c.status]) {
			const td = document.createElement('td');
			td.textContent = v;
			tr.append(td);
		}
		rows.append(tr);
	}
	$('result').hidden = false;
}

async function readInput() {
	const f = $('file').files[0];
	if (f)
		return f.text();
	return $('paste').value;
}

async function submit(ev) {
	ev.preventDefault();
	const status = $('status');
	$('result').hidden = true;
	try {
		const { key, base } = parseDsn($('dsn').value);
		try { localStorage.setItem(DSN_KEY, $('dsn').value.trim()); } catch { /* not saved */ }
		const text = await readInput();
		if (!text.trim())
			throw new Error('choose a file or paste a log first');
		const report = {};
		if ($('note').value.trim())
			report.note = $('note').value.trim();
		if ($('contact').value.trim())
			report.contact = $('contact').value.trim();
		const [route, body, ctype] = prepare(text, report);
		$('progress-box').hidden = false;
		$('send').disabled = true;
		status.textContent = 'Sending…';
		const reply = await upload(base, key, route, body, ctype);
		status.textContent = `Stored ${reply.stored} event${reply.stored === 1 ? '' : 's'}` +
			(reply.duplicates ? ` (${reply.duplicates} sent before)` : '') + '. Looking up where they landed…';
		const clusters = await landed(base, key, reply.ids || []);
		show(clusters);
		status.textContent = `Thank you: ${reply.accepted} event${reply.accepted === 1 ? '' : 's'} received, in ${clusters.length} problem${clusters.length === 1 ? '' : 's'}.`;
	} catch (e) {
		status.textContent = `Not sent: ${e.message}`;
	} finally {
		$('send').disabled = false;
	}
}

function onDrop(ev) {
	ev.preventDefault();
	if (ev.dataTransfer && ev.dataTransfer.files.length)
		$('file').files = ev.dataTransfer.files;
}

$('report-form').addEventListener('submit', submit);
$('drop').addEventListener('dragover', (e) => e.preventDefault());
$('drop').addEventListener('drop', onDrop);
try { $('dsn').value = localStorage.getItem(DSN_KEY) || ''; } catch { /* storage disabled */ }
