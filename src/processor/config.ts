import { availableParallelism, hostname } from 'node:os'
import {
  bytes,
  duration,
  integer,
  kafkaName,
  loadConfig,
  retention,
  shownAs,
  text,
} from '../config/define.ts'
import {
  commonSettings,
  engineSettings,
  engineSettingsProblems,
  failOnProblems,
  kafkaSettings,
  localKafkaSettings,
  postgresSettings,
  startingOffsetsSetting,
} from '../config/settings.ts'

/** Every setting of the stream processor (`rtsa process`). */
export const processorSettings = {
  ...commonSettings,
  ...kafkaSettings,
  ...localKafkaSettings,
  ...postgresSettings,
  ...engineSettings,
  ...startingOffsetsSetting,
  kafkaGroup: text('KAFKA_GROUP', 'rtsa-processor', 'Consumer group of the processors.'),
  batchMaxRecords: integer(1, 1_000_000)(
    'BATCH_MAX_RECORDS',
    20_000,
    'A processor batch closes at this many records (or BATCH_MAX_WAIT, or BATCH_MAX_BYTES).',
  ),
  batchMaxWait: duration('BATCH_MAX_WAIT', 200, 'A batch closes after this long, so results stay fresh.'),
  processorThreads: shownAs(
    integer(1, 64)(
      'PROCESSOR_THREADS',
      availableParallelism(),
      "Threads that run the engines of the processor's partitions (one partition's engine on one thread; Kafka and PostgreSQL stay on the main thread); no more are started than partitions owned. 1: all on the main thread.",
    ),
    '<cores>',
  ),
  provisionalInterval: duration(
    'PROVISIONAL_INTERVAL',
    1000,
    'Provisional window rows and state rows of a partition are written at most this often (final rows at once, exactly once); 0: with every batch.',
  ),
  batchMaxBytes: bytes(
    'BATCH_MAX_BYTES',
    16 * 1024 * 1024,
    'A batch closes at this many bytes of keys and values (a larger record makes a batch alone). Bounds the memory of a batch and of its dead letters.',
  ),
  sessionTimeout: duration(
    'KAFKA_SESSION_TIMEOUT',
    10_000,
    'A processor silent this long loses its partitions.',
  ),
  groupInstanceId: kafkaName(hostname())(
    'KAFKA_GROUP_INSTANCE_ID',
    undefined,
    'Static group membership: a processor restarted under the same name takes back its partitions at once instead of after KAFKA_SESSION_TIMEOUT. One name per running instance, e.g. "rtsa-{hostname}".',
  ),
  commitStallTimeout: duration(
    'COMMIT_STALL_TIMEOUT',
    30_000,
    'A processor that cannot commit or claim for this long (its database is unreachable, hangs or refuses) gives its partitions up and leaves the group, so a healthy instance takes them; it rejoins once the database answers. Also bounds each database call.',
  ),
  metricsRetention: retention(
    'METRICS_RETENTION',
    30 * 86_400_000,
    'Window rows (stream_metrics_minute) older than this are deleted; off: keep forever.',
  ),
  rollupRetention: retention(
    'ROLLUP_RETENTION',
    400 * 86_400_000,
    'Rows of the longer windows (stream_metrics_rollup: hours, days) older than this are deleted; off: keep forever.',
  ),
  deadLetterRetention: retention(
    'DEAD_LETTER_RETENTION',
    7 * 86_400_000,
    'Dead letters older than this are deleted once relayed to the dead-letter topic; off: keep forever.',
  ),
  stateRetention: retention(
    'STATE_RETENTION',
    30 * 86_400_000,
    'A stream with no record for this long leaves stream_state (its counters start again if it comes back); off: keep forever.',
  ),
  retentionInterval: duration(
    'RETENTION_INTERVAL',
    600_000,
    'How often a processor expires old rows (one instance of the group at a time).',
  ),
  metricsPort: integer(0, 65535)(
    'METRICS_PORT',
    9464,
    'Port of the processor metrics and health endpoint (0: none).',
  ),
  metricsHost: text('METRICS_HOST', '127.0.0.1', 'Interface of the metrics endpoint.'),
  instanceId: shownAs(
    text('PROCESSOR_ID', `${hostname()}-${process.pid}`, 'Name of this instance in checkpoints and logs.'),
    '<host name>-<pid>',
  ),
}

/**
 * Node flags the processor runs with (`rtsa up`, compose's NODE_OPTIONS). V8 lets the young
 * generation of a large heap grow to 128 MB; at 16 MB per semi-space the processor of a
 * million viewers needs about 130 MB less (1,132 -> 997 MiB in the memory benchmark) at no
 * measurable cost in catch-up speed. Elsewhere: `NODE_OPTIONS=--max-semi-space-size=16`.
 */
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16']

export type ProcessorConfig = ReturnType<typeof loadProcessorConfig>

export function loadProcessorConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(processorSettings, env)
  const problems = engineSettingsProblems(config)
  if (config.commitStallTimeout < 1000)
    problems.push(`COMMIT_STALL_TIMEOUT (${config.commitStallTimeout} ms) must be at least 1s`)
  if (config.batchMaxBytes < 1024)
    problems.push(`BATCH_MAX_BYTES (${config.batchMaxBytes}) must be at least 1KiB`)
  // Held-back rows wait this long at most: beyond an hour the tables would look stalled.
  if (config.provisionalInterval > 3_600_000)
    problems.push(`PROVISIONAL_INTERVAL (${config.provisionalInterval} ms) must be at most 1 hour`)
  failOnProblems(problems)
  return config
}
