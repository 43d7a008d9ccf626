/**
 * The processor's composition root: its ports over Kafka (src/kafka) and PostgreSQL
 * (src/store), and `runProcessor`, the whole service as `rtsa process` runs it (waits for
 * the services, migrates, creates the topics, runs the processor and its HTTP endpoint
 * until a signal). cli/process.ts only calls it.
 */
import type pg from 'pg'
import pino, { type Logger } from 'pino'
import { kafkaOf, topicPolicyOf } from '../config/kafka.ts'
import { pgConnectionOf, pgUrlOf } from '../config/settings.ts'
import { messageOf } from '../errors/catalogue.ts'
import { waitForPostgres } from '../infra/postgres/server.ts'
import { isKafkaClientError, KafkaAdmin, KafkaProducer, waitForKafka } from '../kafka/client.ts'
import type { KafkaTarget } from '../kafka/connection.ts'
import { GroupMember } from '../kafka/group.ts'
import { claimPartition, commitBatch, loadPartitionState, releasePartition } from '../store/checkpoints.ts'
import { migrate } from '../store/migrations.ts'
import { createPool } from '../store/pool.ts'
import type { ProcessorConfig } from './config.ts'
import { DeadLetterRelay } from './dlq-relay.ts'
import { createEngineFactory } from './engine-adapter.ts'
import { type EngineHost, inlineEngines } from './engine-handle.ts'
import { engineThreads } from './engine-threads.ts'
import { startProcessorHttp } from './http.ts'
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.ts'
import type { Broker, BrokerSession, CheckpointStore } from './ports.ts'
import { Processor } from './processor.ts'
import { startRetention } from './retention.ts'

/** The broker port over Kafka: a group member, the admin client and the DLQ relay of each connection. */
export function kafkaBroker(
  config: ProcessorConfig,
  bootstrap: KafkaTarget,
  pool: pg.Pool,
  log: Logger,
  metrics: ProcessorMetrics,
): Broker {
  return {
    async connect(): Promise<BrokerSession> {
      const admin = new KafkaAdmin(bootstrap)
      const producer = new KafkaProducer(bootstrap, { clientId: `${config.instanceId}-dlq` })
      try {
        // The dead-letter topic is the processor's own output: make sure it exists.
        await admin.ensureTopic(config.kafkaDlqTopic, topicPolicyOf(config))
      } catch (error) {
        await admin.close()
        await producer.close()
        throw error
      }
      return {
        join: (handlers) =>
          new GroupMember({
            bootstrap,
            groupId: config.kafkaGroup,
            topic: config.kafkaTopic,
            clientId: config.instanceId,
            sessionTimeoutMs: config.sessionTimeout,
            ...(config.groupInstanceId === undefined ? {} : { groupInstanceId: config.groupInstanceId }),
            maxWaitMs: Math.min(config.batchMaxWait, 500),
            maxBuffered: config.batchMaxRecords * 2,
            maxBufferedBytes: config.batchMaxBytes * 2,
            onAssignment: handlers.onAssignment,
            onError: handlers.onError,
          }),
        offsets: () => admin.offsets(config.kafkaTopic),
        relay: (owned) =>
          new DeadLetterRelay({
            pool,
            producer,
            topic: config.kafkaTopic,
            dlqTopic: config.kafkaDlqTopic,
            owned,
            maxMessageBytes: () => admin.maxMessageBytes(config.kafkaDlqTopic),
            log,
            metrics,
          }),
        close: async () => {
          await admin.close()
          await producer.close()
        },
      }
    },
  }
}

/** The checkpoint port over PostgreSQL, for one topic and one instance. */
export function pgCheckpoints(pool: pg.Pool, topic: string, owner: string): CheckpointStore {
  return {
    claim: (partition) => claimPartition(pool, topic, partition, owner),
    commit: (batch) => commitBatch(pool, batch),
    load: (partition) => loadPartitionState(pool, topic, partition),
    release: (partition, epoch) => releasePartition(pool, topic, partition, epoch),
    ping: async () => {
      await pool.query('select 1')
    },
  }
}

/**
 * Where the engines run: PROCESSOR_THREADS engine threads, or the main thread for 1.
 * `wrapModule`: see WorkerSettings (tests only).
 */
export function engineHostOf(
  config: ProcessorConfig,
  log: Logger,
  options: { wrapModule?: string } = {},
): EngineHost {
  if (config.processorThreads === 1 && options.wrapModule === undefined)
    return inlineEngines(createEngineFactory(config))
  const { window, windows, watermark, viewerTimeout, maxClockSkew } = config
  return engineThreads({
    threads: config.processorThreads,
    engine: { window, windows, watermark, viewerTimeout, maxClockSkew },
    log,
    ...options,
  })
}

/** A processor over Kafka and PostgreSQL (not started); it closes `engines` when it stops. */
export function createProcessor(
  config: ProcessorConfig,
  pool: pg.Pool,
  log: Logger,
  metrics: ProcessorMetrics,
  options: { engines?: EngineHost } = {},
): Processor {
  return new Processor({
    config,
    broker: kafkaBroker(config, kafkaOf(config), pool, log, metrics),
    checkpoints: pgCheckpoints(pool, config.kafkaTopic, config.instanceId),
    engines: options.engines ?? engineHostOf(config, log),
    log,
    metrics,
  })
}

/**
 * `rtsa process`: runs one stream processor instance until SIGINT/SIGTERM, then
 * finishes and commits its batch, gives up its partitions and leaves the group.
 */
export async function runProcessor(config: ProcessorConfig): Promise<number> {
  const log = pino({ level: config.logLevel, base: { service: 'processor', instance: config.instanceId } })
  const bootstrap = kafkaOf(config)
  const connection = pgConnectionOf(config)
  await waitForKafka(bootstrap, { timeoutMs: 30_000, settingName: 'KAFKA_BOOTSTRAP' })
  const pool = createPool(connection, {
    max: 4,
    applicationName: `rtsa-processor-${config.instanceId}`,
    // A frozen or partitioned instance must not keep a checkpoint row locked: its
    // transaction is aborted and the new owner's claim goes through.
    idleInTransactionTimeoutMs: 10_000,
    lockTimeoutMs: 15_000,
    // No database call may outlast the stall timeout: the server cancels a statement,
    // the client gives up on a server that no longer answers (packets dropped).
    statementTimeoutMs: config.commitStallTimeout,
    queryTimeoutMs: config.commitStallTimeout + 1000,
    connectionTimeoutMs: Math.min(10_000, config.commitStallTimeout),
    onError: (error) => log.warn({ err: error.message }, 'idle database connection failed'),
  })
  await waitForPostgres(pgUrlOf(connection), {
    timeoutMs: 30_000,
    settingName: config.databaseUrl ? 'DATABASE_URL' : 'PGHOST',
  })
  await migrate(pool)
  const admin = new KafkaAdmin(bootstrap)
  try {
    if (await admin.ensureTopic(config.kafkaTopic, topicPolicyOf(config)))
      log.info({ topic: config.kafkaTopic, partitions: config.kafkaPartitions }, 'created the input topic')
    await admin.ensureTopic(config.kafkaDlqTopic, topicPolicyOf(config))
  } finally {
    await admin.close()
  }
  const metrics = createProcessorMetrics()
  const processor = createProcessor(config, pool, log, metrics)
  // The Kafka client can reject a promise nobody awaits (a JoinGroup answered
  // UNKNOWN_MEMBER_ID after the coordinator dropped a starved member): rejoin instead
  // of exiting. Anything else is a bug: exit, which is safe (nothing uncommitted counts).
  process.on('unhandledRejection', (reason) => {
    if (isKafkaClientError(reason)) {
      log.warn({ err: messageOf(reason) }, 'Kafka client failure outside the loop; reconnecting')
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
  const retention = startRetention({
    pool,
    retention: {
      metrics: config.metricsRetention,
      deadLetters: config.deadLetterRetention,
      rollups: config.rollupRetention,
      state: config.stateRetention,
    },
    everyMs: config.retentionInterval,
    log,
    metrics,
  })
  const server =
    config.metricsPort === 0
      ? undefined
      : await startProcessorHttp(processor, metrics, pool, config.metricsHost, config.metricsPort)
  log.info(
    {
      topic: config.kafkaTopic,
      group: config.kafkaGroup,
      metrics: config.metricsPort,
      threads: config.processorThreads,
    },
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
  await retention.stop()
  await pool.end()
  log.info('processor stopped')
  return 0
}
