// sentry_logs.mjs — the current major of @sentry/node (pinned in this directory's
// package-lock) for the collector's integration test t28.
//
// Environment: SENTRY_DSN, REL, ENV_NAME, MARK. With the stock Node transport (observed, to
// record the HTTP codes the server answered) and enableLogs, sends:
//   * captureException of a TypeError thrown in parseInvoiceTotal,
//   * captureMessage with attachStacktrace (the SDK adds a synthetic exception without a type),
//   * Sentry.logger.warn(Sentry.logger.fmt`...`) and Sentry.logger.error(msg, attributes)
//     (structured logs: an envelope `log` item),
// then flushes and prints {"statuses": [...], "ids": {...}}. Exits 1 if the flush timed out
// or any request was not 2xx.
import * as Sentry from '@sentry/node';

const { SENTRY_DSN, REL, ENV_NAME, MARK } = process.env;
if (!SENTRY_DSN || !REL || !ENV_NAME || !MARK) {
  console.error('sentry_logs.mjs: set SENTRY_DSN, REL, ENV_NAME and MARK');
  process.exit(2);
}

const statuses = [];
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
  attachStacktrace: true,
  enableLogs: true,
  debug: process.env.SENTRY_DEBUG === '1',
});

function parseInvoiceTotal(invoice) {
  if (!Array.isArray(invoice.lines))
    throw new TypeError(`invoice ${invoice.id} has no lines (${MARK})`);
  return invoice.lines.reduce((sum, l) => sum + l.amount, 0);
}

const ids = {};
try {
  parseInvoiceTotal({ id: 'INV-9' });
} catch (e) {
  ids.exception = Sentry.captureException(e);
}
ids.message = Sentry.captureMessage(`nightly import finished ${MARK}`, 'info');
Sentry.logger.warn(Sentry.logger.fmt`cache miss for user ${42} (${MARK})`);
Sentry.logger.error(`payment declined ${MARK}`, { 'order.id': 'ORD-7', attempt: 2, retry: true });

const flushed = await Sentry.flush(10000);
console.log(JSON.stringify({ statuses, ids, flushed }));
if (!flushed || statuses.length === 0 || statuses.some((s) => !(s >= 200 && s < 300))) {
  console.error(`sentry_logs.mjs: statuses ${JSON.stringify(statuses)}, flushed ${flushed}`);
  process.exit(1);
}
