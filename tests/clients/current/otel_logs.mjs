// otel_logs.mjs — OpenTelemetry JS log pipelines with the stock OTLP exporters (the newest
// line that runs on Debian's Node 20, pinned in this directory's package-lock) for t29.
//
// Environment: OTLP_URL (http://127.0.0.1:PORT/v1/logs), TOKEN, SERVICE, REL, ENV_NAME, MARK,
// EXPORTER (proto | http), COMPRESSION (gzip | none). A LoggerProvider with a
// BatchLogRecordProcessor and the chosen exporter emits an ERROR record with the semantic
// exception.* attributes of a real caught RangeError and typed attributes (int, double,
// bool, array, map), and an INFO record; shuts down (flushes) and prints {"results": [...]}
// — the export result codes (0 = SUCCESS). Exits 1 unless every export succeeded.
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as HttpExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';

const { OTLP_URL, TOKEN, SERVICE, REL, ENV_NAME, MARK, EXPORTER } = process.env;
if (!OTLP_URL || !TOKEN || !SERVICE || !REL || !ENV_NAME || !MARK || !EXPORTER) {
  console.error('otel_logs.mjs: set OTLP_URL, TOKEN, SERVICE, REL, ENV_NAME, MARK and EXPORTER');
  process.exit(2);
}
const Exporter = EXPORTER === 'proto' ? ProtoExporter : HttpExporter;
const exporter = new Exporter({
  url: OTLP_URL,
  headers: { Authorization: `Bearer ${TOKEN}` },
  compression: process.env.COMPRESSION === 'gzip' ? 'gzip' : 'none',
});

const results = [];
const recordingExporter = {
  export(records, done) {
    exporter.export(records, (result) => {
      results.push(result.code);
      if (result.error) console.error(`otel_logs.mjs: export error: ${result.error.message}`);
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
    'deployment.environment.name': ENV_NAME,
  }),
  // this line of sdk-logs takes an options object ({ exporter }) rather than the exporter
  processors: [new BatchLogRecordProcessor({ exporter: recordingExporter })],
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
      'amount.cents': 1999,
      'fee.ratio': 0.25,
      'retry': true,
      'tags': ['a', 'b'],
      'card': { brand: 'visa', last4: 4242 },
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
  console.error(`otel_logs.mjs: export results ${JSON.stringify(results)} (0 = success)`);
  process.exit(1);
}
