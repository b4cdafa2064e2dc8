/*
 * chart.js — inline SVG charts of a cluster's hourly series (the API's "hourly": hours with
 * events only, oldest first, 7 days up to now).
 *
 * The series is first made dense: one slot per hour for the 168 hours ending at the current
 * hour (or at the newest hour in the series, when the server's clock is ahead), so gaps show
 * as zeros. Both charts carry a text alternative (aria-label and <title>) with the numbers.
 */
import { s } from './dom.js';

const HOUR_MS = 3600 * 1000;
const HOURS = 168;

/* [{t: ms at the hour's start, count}] × HOURS, oldest first. */
function denseHours(hourly, now = Date.now()) {
	const byHour = new Map();
	let newest = Math.floor(now / HOUR_MS);
	for (const p of hourly || []) {
		const hr = Math.floor(Date.parse(p.hour) / HOUR_MS);
		if (isNaN(hr))
			continue;
		byHour.set(hr, (byHour.get(hr) || 0) + (p.count || 0));
		newest = Math.max(newest, hr);
	}
	const out = [];
	for (let hr = newest - HOURS + 1; hr <= newest; hr++)
		out.push({ t: hr * HOUR_MS, count: byHour.get(hr) || 0 });
	return out;
}

function summary(dense) {
	const total = dense.reduce((a, p) => a + p.count, 0);
	const peak = dense.reduce((a, p) => (p.count > a.count ? p : a), dense[0]);
	return { total, peak };
}

const hourLabel = (t) => `${new Date(t).toISOString().slice(0, 13).replace('T', ' ')}:00 UTC`;

/* A tiny line of the last 7 days for a table row. */
export function sparkline(hourly, { width = 120, height = 24 } = {}) {
	const dense = denseHours(hourly);
	const { total, peak } = summary(dense);
	const max = Math.max(1, peak.count);
	const x = (i) => (i / (dense.length - 1)) * width;
	const y = (c) => height - 1 - (c / max) * (height - 3);
	const line = dense.map((p, i) => `${x(i).toFixed(1)},${y(p.count).toFixed(1)}`).join(' ');
	const label = total
		? `last 7 days: ${total} events, peak ${peak.count} per hour at ${hourLabel(peak.t)}`
		: 'no events in the last 7 days';
	return s('svg', {
		class: 'spark', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
		'aria-label': label, preserveAspectRatio: 'none',
	},
	s('title', null, label),
	s('polygon', { class: 'spark-area', points: `0,${height} ${line} ${width},${height}` }),
	s('polyline', { class: 'spark-line', points: line, fill: 'none' }));
}

/* Bars per hour with a count axis and day ticks (UTC midnights). */
export function hourlyChart(hourly) {
	const dense = denseHours(hourly);
	const { total, peak } = summary(dense);
	const W = 840, H = 180, left = 36, bottom = 22, top = 8;
	const plotW = W - left - 4, plotH = H - bottom - top;
	const max = Math.max(1, peak.count);
	const bw = plotW / dense.length;
	const label = total
		? `Events per hour over the last 7 days: ${total} in total, at most ${peak.count} in one hour (${hourLabel(peak.t)}).`
		: 'No events in the last 7 days.';
	const svg = s('svg', {
		class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label,
		preserveAspectRatio: 'xMidYMid meet',
	}, s('title', null, label));

	for (const v of [0, max]) {
		const y = top + plotH - (v / max) * plotH;
		svg.append(s('line', { class: 'grid', x1: left, x2: W - 4, y1: y, y2: y }),
			s('text', { class: 'axis', x: left - 4, y: y + 4, 'text-anchor': 'end' }, String(v)));
	}
	dense.forEach((p, i) => {
		const x = left + i * bw;
		if (new Date(p.t).getUTCHours() === 0)
			svg.append(s('line', { class: 'tick', x1: x, x2: x, y1: top, y2: top + plotH }),
				s('text', { class: 'axis', x: x + 2, y: H - 6 }, new Date(p.t).toISOString().slice(5, 10)));
		if (!p.count)
			return;
		const bh = Math.max(1, (p.count / max) * plotH);
		svg.append(s('rect', {
			class: 'bar', x: x + 0.5, y: top + plotH - bh, width: Math.max(1, bw - 1), height: bh,
		}, s('title', null, `${hourLabel(p.t)}: ${p.count} event${p.count === 1 ? '' : 's'}`)));
	});
	return svg;
}
