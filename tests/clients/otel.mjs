// otel.mjs — a real OpenTelemetry JS log pipeline for the collector's integration test (t21).
//
// Environment: OTLP_URL (http://127.0.0.1:PORT/v1/logs), TOKEN (ingest token), SERVICE,
// REL (service.version), ENV_NAME (deployment.environment), MARK (a unique string put into
// both log bodies). A LoggerProvider with the stock OTLPLogExporter (JSON over HTTP, bearer
// token) behind a BatchLogRecordProcessor emits an ERROR record carrying the semantic
// exception.* attributes of a real caught RangeError, and an INFO record; then shuts down,
// which flushes. Prints {"results": [...]} — the export result codes the exporter reported
// (0 = SUCCESS) — and exits 1 unless every export succeeded. COMPRESSION=gzip: gzip the requests.
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';

const { OTLP_URL, TOKEN, SERVICE, REL, ENV_NAME, MARK } = process.env;
if (!OTLP_URL || !TOKEN || !SERVICE || !REL || !ENV_NAME || !MARK) {
  console.error('otel.mjs: set OTLP_URL, TOKEN, SERVICE, REL, ENV_NAME and MARK');
  process.exit(2);
}

const exporter = new OTLPLogExporter({
  url: OTLP_URL,
  headers: { Authorization: `Bearer ${TOKEN}` },
  // COMPRESSION=gzip makes the exporter gzip its requests (Content-Encoding: gzip).
  compression: process.env.COMPRESSION === 'gzip' ? 'gzip' : 'none',
});

const results = [];
// The stock exporter, observed: we want to know whether the server accepted each export.
const recordingExporter = {
  export(records, done) {
    exporter.export(records, (result) => {
      results.push(result.code);
      if (result.error) console.error(`otel.mjs: export error: ${result.error.message}`);
      done(result);
    });
  },
  shutdown: () => exporter.shutdown(),
  forceFlush: () => exporter.forceFlush(),
};

const provider = new LoggerProvider({
  resource: resourceFromAttributes({
    'service.name': SERVICE,
    'service.version': REL,
    'deployment.environment': ENV_NAME,
  }),
  processors: [new BatchLogRecordProcessor(recordingExporter)],
});
logs.setGlobalLoggerProvider(provider);
const logger = logs.getLogger('billing.worker', '1.0.0');

function chargeCard(amountCents) {
  if (amountCents < 0)
    throw new RangeError(`amount must not be negative (${MARK}): ${amountCents}`);
  return amountCents;
}

try {
  chargeCard(-5);
} catch (e) {
  logger.emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: `charge failed ${MARK}`,
    attributes: {
      'exception.type': e.name,
      'exception.message': e.message,
      'exception.stacktrace': e.stack,
      'order.id': 'ORD-42',
    },
  });
}
logger.emit({
  severityNumber: SeverityNumber.INFO,
  severityText: 'INFO',
  body: `worker started ${MARK}`,
  attributes: { 'queue.depth': 3 },
});

await provider.shutdown();
console.log(JSON.stringify({ results }));
if (results.length === 0 || results.some((c) => c !== 0)) {
  console.error(`otel.mjs: export results ${JSON.stringify(results)} (0 = success)`);
  process.exit(1);
}
