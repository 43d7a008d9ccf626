/**
 * Settings of the event generator (`rtsa generate`, `rtsa produce`): shared Kafka and
 * engine settings plus the generator's own. Every setting is an env var; the CLI maps
 * its flags onto the same names (flags win), so both are validated by one loader.
 */
import {
  type ConfigOf,
  duration,
  integer,
  list,
  loadConfig,
  number,
  type Setting,
  text,
} from '../config/define.ts'
import {
  engineSettings,
  kafkaSecuritySettings,
  kafkaSettings,
  localKafkaSettings,
} from '../config/settings.ts'
import { parseDuration } from '../config/units.ts'
import { parseTimestamp } from '../events/timestamp.ts'

const rate = number(0, 1)

/**
 * A point in time: an ISO-8601 timestamp with a zone, or a duration meaning "that long
 * before now" (`2 hours`). Parsed to a function of now, so the config stays clock-free.
 */
const pastTime: (env: string, doc: string) => Setting<(nowMs: number) => number> = (env, doc) => ({
  env: [env],
  default: undefined,
  expect: 'an ISO-8601 timestamp with a zone (2025-12-20T18:00:00Z) or a duration ago ("2 hours")',
  doc,
  parse: (raw) => {
    const at = parseTimestamp(raw.trim())
    if (at !== undefined) return () => at
    const ago = parseDuration(raw)
    return ago === undefined ? undefined : (nowMs: number) => nowMs - ago
  },
})

export const generatorSettings = {
  kafkaBootstrap: kafkaSettings.kafkaBootstrap,
  kafkaTopic: kafkaSettings.kafkaTopic,
  kafkaPartitions: kafkaSettings.kafkaPartitions,
  kafkaReplicationFactor: kafkaSettings.kafkaReplicationFactor,
  kafkaCreateTopics: kafkaSettings.kafkaCreateTopics,
  ...kafkaSecuritySettings,
  // The same local broker as every other command when KAFKA_BOOTSTRAP is unset.
  ...localKafkaSettings,
  watermark: engineSettings.watermark,
  eventsPerSec: number(0.001, 10_000_000)(
    'EVENTS_PER_SEC',
    20,
    'Target events per second (live mode: of wall time; simulate mode: of event time).',
  ),
  streamIds: list('STREAM_IDS', undefined, 'Stream ids, comma-separated (wins over STREAM_COUNT).'),
  streamCount: integer(1, 1_000_000)('STREAM_COUNT', 3, 'Number of streams: stream_1001, stream_1002, ...'),
  userCount: integer(1, 100_000_000)('USER_COUNT', 500, 'Number of users: user_1 .. user_N.'),
  seed: text('SEED', undefined, 'Seed of the generator; the same seed gives the same events. Unset: random.'),
  count: integer(1, Number.MAX_SAFE_INTEGER)('COUNT', undefined, 'Stop after this many records.'),
  duration: duration(
    'DURATION',
    undefined,
    'Stop after this long (live: wall time; simulate: of event time from SIMULATE_FROM).',
  ),
  simulateFrom: pastTime(
    'SIMULATE_FROM',
    'Simulate mode: generate event time from here as fast as possible (until DURATION or now).',
  ),
  duplicateRate: rate('FAULT_DUPLICATE_RATE', 0, 'Share of events sent twice (same bytes).'),
  disorderRate: rate(
    'FAULT_DISORDER_RATE',
    0,
    'Share of events sent out of order, up to FAULT_DISORDER_MAX late.',
  ),
  disorderMax: duration('FAULT_DISORDER_MAX', 30_000, 'Largest delay of an out-of-order event.'),
  lateRate: rate('FAULT_LATE_RATE', 0, 'Share of events sent after the WATERMARK has passed them.'),
  malformedRate: rate('FAULT_MALFORMED_RATE', 0, 'Share of events followed by a malformed record.'),
  batchSize: integer(1, 100_000)('PRODUCER_BATCH', 2000, 'Records per produce request.'),
  maxInFlight: integer(1, 5)(
    'PRODUCER_MAX_IN_FLIGHT',
    4,
    'Produce requests awaiting acks before sending waits.',
  ),
  progressEvery: duration('PROGRESS_INTERVAL', 5000, 'How often a progress line is printed.'),
}

export type GeneratorConfig = ConfigOf<typeof generatorSettings>

/** Loads and validates the generator settings from `env` (throws CONFIG_INVALID naming each bad variable). */
export function loadGeneratorConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): GeneratorConfig {
  return loadConfig(generatorSettings, env)
}

/** The stream ids a config names: STREAM_IDS, else stream_1001.. for STREAM_COUNT. */
export function streamIdsOf(c: Pick<GeneratorConfig, 'streamIds' | 'streamCount'>): string[] {
  if (c.streamIds !== undefined) return [...new Set(c.streamIds)] // a repeated id is one stream
  return Array.from({ length: c.streamCount }, (_, i) => `stream_${1001 + i}`)
}
