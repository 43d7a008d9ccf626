/**
 * The processor's expiry loop: every RETENTION_INTERVAL one instance of the group (the
 * one that gets the advisory lock) deletes what the retention settings let go, counted in
 * rtsa_processor_expired_rows_total{table}. A failed round is logged and tried again at
 * the next interval: expiry can wait, commits cannot.
 */

import type pg from 'pg'
import type { Logger } from 'pino'
import { messageOf } from '../errors/catalogue.ts'
import { expireOldRows, type Retention } from '../store/retention.ts'
import type { ProcessorMetrics } from './metrics.ts'

export interface RetentionLoop {
  /** Runs one round now (tests, and the first round at start). */
  runOnce(): Promise<void>
  stop(): Promise<void>
}

export function startRetention(o: {
  pool: pg.Pool
  retention: Retention
  everyMs: number
  log: Logger
  metrics: ProcessorMetrics
  now?: () => number
}): RetentionLoop {
  const now = o.now ?? Date.now
  let running: Promise<void> | undefined
  const round = async () => {
    try {
      const expired = await expireOldRows(o.pool, o.retention, now())
      if (expired === undefined) return
      o.metrics.expired.inc({ table: 'stream_metrics_minute' }, expired.windows)
      o.metrics.expiredDays.inc({ table: 'stream_metrics_minute' }, expired.windowDays)
      o.metrics.expiredDays.inc({ table: 'dead_letters' }, expired.deadLetterDays)
      o.metrics.expired.inc({ table: 'stream_metrics_rollup' }, expired.rollups)
      o.metrics.expired.inc({ table: 'stream_live_events' }, expired.liveEvents)
      o.metrics.expired.inc({ table: 'dead_letters' }, expired.deadLetters)
      o.metrics.expired.inc({ table: 'stream_state' }, expired.streams)
      if (
        expired.windowDays +
          expired.windows +
          expired.rollups +
          expired.liveEvents +
          expired.deadLetterDays +
          expired.deadLetters +
          expired.streams >
        0
      )
        o.log.info({ expired }, 'expired old rows')
    } catch (error) {
      o.log.warn({ err: messageOf(error) }, 'expiring old rows failed; trying again at the next interval')
    }
  }
  const runOnce = () => {
    running ??= round().finally(() => {
      running = undefined
    })
    return running
  }
  const off =
    o.retention.metrics === null &&
    (o.retention.rollups ?? null) === null &&
    o.retention.deadLetters === null &&
    o.retention.state === null
  const timer = off ? undefined : setInterval(() => void runOnce(), o.everyMs)
  timer?.unref()
  return {
    runOnce,
    stop: async () => {
      clearInterval(timer)
      await running
    },
  }
}
