import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The processor's Prometheus metrics (one registry per processor instance). */
export function createProcessorMetrics() {
  const registry = new Registry()
  // process_* (CPU, memory, file descriptors) and nodejs_* (event loop lag, GC, heap).
  collectDefaultMetrics({ register: registry })
  const recordsIn = new Counter({
    name: 'rtsa_processor_records_in_total',
    help: 'Records read from Kafka',
    labelNames: ['partition'],
    registers: [registry],
  })
  const applied = new Counter({
    name: 'rtsa_processor_records_applied_total',
    help: 'Records applied to the engine state',
    registers: [registry],
  })
  const rejected = new Counter({
    name: 'rtsa_processor_records_rejected_total',
    help: "Records not applied, by reason (the decoder's reasons, key_mismatch, future_ts, late, duplicate, processing_error)",
    labelNames: ['reason'],
    registers: [registry],
  })
  const lag = new Gauge({
    name: 'rtsa_processor_partition_lag_records',
    help: 'Records behind the end of the partition',
    labelNames: ['partition'],
    registers: [registry],
  })
  const watermark = new Gauge({
    name: 'rtsa_processor_partition_watermark_timestamp_seconds',
    help: 'Partition watermark: the event time up to which windows are final (unix seconds)',
    labelNames: ['partition'],
    registers: [registry],
  })
  const batchSeconds = new Histogram({
    name: 'rtsa_processor_batch_seconds',
    help: 'Engine time per partition batch',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  })
  const commitSeconds = new Histogram({
    name: 'rtsa_processor_commit_seconds',
    help: 'PostgreSQL commit time per partition batch',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  })
  const commits = new Counter({
    name: 'rtsa_processor_commits_total',
    help: 'Committed partition batches',
    registers: [registry],
  })
  const commitErrors = new Counter({
    name: 'rtsa_processor_commit_errors_total',
    help: 'Failed commit attempts (retried)',
    registers: [registry],
  })
  const fenced = new Counter({
    name: 'rtsa_processor_fenced_commits_total',
    help: 'Commits refused because another instance owns the partition',
    registers: [registry],
  })
  const rebalances = new Counter({
    name: 'rtsa_processor_rebalances_total',
    help: 'Group assignments received',
    registers: [registry],
  })
  const owned = new Gauge({
    name: 'rtsa_processor_partitions_owned',
    help: 'Partitions this instance owns',
    registers: [registry],
  })
  const dlqFailures = new Counter({
    name: 'rtsa_processor_dlq_publish_failures_total',
    help: 'Failed attempts to relay dead letters to the DLQ topic (they are retried)',
    registers: [registry],
  })
  const isolations = new Counter({
    name: 'rtsa_processor_isolations_total',
    help: 'Batches redone from the committed state because processing them threw',
    registers: [registry],
  })
  const processingErrors = new Counter({
    name: 'rtsa_processor_processing_errors_total',
    help: 'Records the engine threw on, dead-lettered as processing_error',
    registers: [registry],
  })
  const dlqRelayed = new Counter({
    name: 'rtsa_processor_dlq_relayed_total',
    help: 'Dead letters published to the DLQ topic',
    registers: [registry],
  })
  const dlqTruncated = new Counter({
    name: 'rtsa_processor_dlq_truncated_total',
    help: 'Dead letters published with their value cut to fit the DLQ topic (the source topic holds them whole)',
    registers: [registry],
  })
  const dlqDropped = new Counter({
    name: 'rtsa_processor_dlq_dropped_total',
    help: 'Dead letters the DLQ topic refused even as metadata (kept in dead_letters only)',
    registers: [registry],
  })
  const stalls = new Counter({
    name: 'rtsa_processor_commit_stalls_total',
    help: 'Times this instance gave its partitions up because it could not commit for COMMIT_STALL_TIMEOUT',
    registers: [registry],
  })
  const expired = new Counter({
    name: 'rtsa_processor_expired_rows_total',
    help: 'Rows deleted by retention (METRICS_RETENTION, DEAD_LETTER_RETENTION, STATE_RETENTION), by table',
    labelNames: ['table'] as const,
    registers: [registry],
  })
  const expiredDays = new Counter({
    name: 'rtsa_processor_expired_day_partitions_total',
    help: 'Day partitions dropped whole by retention (stream_metrics_minute: METRICS_RETENTION, dead_letters: DEAD_LETTER_RETENTION)',
    labelNames: ['table'],
    registers: [registry],
  })
  return {
    registry,
    expired,
    expiredDays,
    stalls,
    dlqRelayed,
    dlqTruncated,
    dlqDropped,
    isolations,
    processingErrors,
    recordsIn,
    applied,
    rejected,
    lag,
    watermark,
    batchSeconds,
    commitSeconds,
    commits,
    commitErrors,
    fenced,
    rebalances,
    owned,
    dlqFailures,
  }
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>
