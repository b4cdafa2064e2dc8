// sentry.mjs — a real @sentry/node client for the collector's integration test (t20).
//
// Environment: SENTRY_DSN (the collector's DSN), REL (release), ENV_NAME (environment),
// MARK (a unique string put into the exception value and the message so the test can find
// them). Sends one captureException (a TypeError thrown from the named function
// parseInvoiceTotal), one captureMessage and one captureMessage with a 40 KB `extra` (sent
// gzip-compressed by the SDK), flushes, and prints one JSON line
// {"exception_id", "message_id", "big_id", "statuses"} — statuses are the HTTP codes the SDK's own
// transport got back. Exits 1 if the flush times out or any send was not a 2xx.
import * as Sentry from '@sentry/node';

const { SENTRY_DSN, REL, ENV_NAME, MARK } = process.env;
if (!SENTRY_DSN || !REL || !ENV_NAME || !MARK) {
  console.error('sentry.mjs: set SENTRY_DSN, REL, ENV_NAME and MARK');
  process.exit(2);
}

const statuses = [];
// The SDK's stock Node transport, observed: we want to know what the server answered.
function recordingTransport(options) {
  const inner = Sentry.makeNodeTransport(options);
  return {
    send: async (envelope) => {
      const res = await inner.send(envelope);
      statuses.push(res && res.statusCode);
      return res;
    },
    flush: (timeout) => inner.flush(timeout),
  };
}

Sentry.init({
  dsn: SENTRY_DSN,
  release: REL,
  environment: ENV_NAME,
  transport: recordingTransport,
  tracesSampleRate: 0,
  sendClientReports: false,
  debug: process.env.SENTRY_DEBUG === '1',
});

function parseInvoiceTotal(invoice) {
  if (!Array.isArray(invoice.lines))
    throw new TypeError(`invoice ${invoice.id} has no lines (${MARK})`);
  return invoice.lines.reduce((sum, l) => sum + l.amount, 0);
}

let exceptionId;
try {
  parseInvoiceTotal({ id: 'INV-7' });
} catch (e) {
  exceptionId = Sentry.captureException(e);
}
const messageId = Sentry.captureMessage(`nightly export finished with warnings ${MARK}`, 'warning');
// An event over the SDK's 32 KB threshold: @sentry/node gzips such envelopes
// (Content-Encoding: gzip), so this exercises the collector's gzip path with the real client.
const bigId = Sentry.captureMessage(`export report attached ${MARK}`, {
  level: 'info',
  extra: { report: 'r'.repeat(40000) + MARK },
});

const flushed = await Sentry.flush(10000);
console.log(JSON.stringify({ exception_id: exceptionId, message_id: messageId, big_id: bigId, statuses }));
if (!flushed || statuses.length < 3 || statuses.some((s) => !(s >= 200 && s < 300))) {
  console.error(`sentry.mjs: flushed=${flushed} statuses=${JSON.stringify(statuses)}`);
  process.exit(1);
}
process.exit(0);
