import pino from 'pino'
import { bootstrapOf, pgConnectionOf, pgUrlOf } from '../config/settings.ts'
import { messageOf } from '../errors/catalogue.ts'
import { waitForPostgres } from '../infra/postgres/server.ts'
import { KafkaAdmin, waitForKafka } from '../kafka/client.ts'
import { loadProcessorConfig } from '../processor/config.ts'
import { createEngineFactory } from '../processor/engine-adapter.ts'
import { startProcessorHttp } from '../processor/http.ts'
import { createProcessorMetrics } from '../processor/metrics.ts'
import { Processor } from '../processor/processor.ts'
import { migrate } from '../store/migrations.ts'
import { createPool } from '../store/pool.ts'

/**
 * `rtsa process`: runs one stream processor instance until SIGINT/SIGTERM, then
 * finishes and commits its batch, gives up its partitions and leaves the group.
 */
export async function processCommand(_args: string[]): Promise<number> {
  const config = loadProcessorConfig()
  const log = pino({ level: config.logLevel, base: { service: 'processor', instance: config.instanceId } })
  const bootstrap = bootstrapOf(config)
  const connection = pgConnectionOf(config)
  await waitForKafka(bootstrap, { timeoutMs: 30_000, settingName: 'KAFKA_BOOTSTRAP' })
  const pool = createPool(connection, {
    max: 4,
    applicationName: `rtsa-processor-${config.instanceId}`,
    // A frozen or partitioned instance must not keep a checkpoint row locked: its
    // transaction is aborted and the new owner's claim goes through.
    idleInTransactionTimeoutMs: 10_000,
    lockTimeoutMs: 15_000,
    onError: (error) => log.warn({ err: error.message }, 'idle database connection failed'),
  })
  await waitForPostgres(pgUrlOf(connection), {
    timeoutMs: 30_000,
    settingName: config.databaseUrl ? 'DATABASE_URL' : 'PGHOST',
  })
  await migrate(pool)
  const admin = new KafkaAdmin(bootstrap)
  try {
    if (await admin.ensureTopic(config.kafkaTopic, config.kafkaPartitions))
      log.info({ topic: config.kafkaTopic, partitions: config.kafkaPartitions }, 'created the input topic')
    await admin.ensureTopic(config.kafkaDlqTopic, config.kafkaPartitions)
  } finally {
    await admin.close()
  }
  const metrics = createProcessorMetrics()
  const processor = new Processor({
    config,
    bootstrap,
    pool,
    engineFactory: createEngineFactory(config),
    log,
    metrics,
  })
  // The Kafka client can reject a promise nobody awaits (a JoinGroup answered
  // UNKNOWN_MEMBER_ID after the coordinator dropped a starved member): rejoin instead
  // of exiting. Anything else is a bug: exit, which is safe (nothing uncommitted counts).
  process.on('unhandledRejection', (reason) => {
    const code = (reason as { code?: unknown } | null)?.code
    if (typeof code === 'string' && code.startsWith('PLT_KFK')) {
      log.warn({ err: messageOf(reason), code }, 'Kafka client failure outside the loop; reconnecting')
      processor.fail(reason)
      return
    }
    log.fatal(
      { err: messageOf(reason) },
      'unhandled rejection; exiting (a restart resumes from the last commit)',
    )
    process.exit(1)
  })
  processor.start()
  const server =
    config.metricsPort === 0
      ? undefined
      : await startProcessorHttp(processor, metrics, pool, config.metricsHost, config.metricsPort)
  log.info(
    { topic: config.kafkaTopic, group: config.kafkaGroup, metrics: config.metricsPort },
    'processor started',
  )
  await new Promise<void>((done) => {
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  log.info('stopping: finishing the batch in progress')
  try {
    await processor.stop()
  } catch (error) {
    log.error({ err: messageOf(error) }, 'stopping failed')
  }
  server?.close()
  await pool.end()
  log.info('processor stopped')
  return 0
}
