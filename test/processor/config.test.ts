import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { test } from 'node:test'
import { rollupWindowsOf } from '../../src/config/settings.ts'
import { isRtsaError } from '../../src/errors/catalogue.ts'
import { loadProcessorConfig } from '../../src/processor/config.ts'

test('MAX_CLOCK_SKEW defaults to 5 minutes and must be shorter than WATERMARK', () => {
  const c = loadProcessorConfig({})
  assert.equal(c.maxClockSkew, 300_000)
  assert.equal(c.batchMaxBytes, 16 * 1024 * 1024)
  assert.equal(loadProcessorConfig({ MAX_CLOCK_SKEW: '9 minutes' }).maxClockSkew, 540_000)
  for (const env of [{ MAX_CLOCK_SKEW: '10 minutes' }, { WATERMARK: '1 minute' }, { MAX_CLOCK_SKEW: '1h' }]) {
    assert.throws(
      () => loadProcessorConfig(env),
      (e: unknown) =>
        isRtsaError(e, 'CONFIG_INVALID') &&
        /MAX_CLOCK_SKEW .* must be shorter than WATERMARK/.test(e.message),
      JSON.stringify(env),
    )
  }
  assert.throws(
    () => loadProcessorConfig({ BATCH_MAX_BYTES: '10' }),
    (e: unknown) => isRtsaError(e, 'CONFIG_INVALID') && /BATCH_MAX_BYTES/.test(e.message),
  )
  assert.throws(
    () => loadProcessorConfig({ MAX_CLOCK_SKEW: 'soon' }),
    (e: unknown) => isRtsaError(e, 'CONFIG_INVALID') && /MAX_CLOCK_SKEW="soon" is invalid/.test(e.message),
  )
  assert.equal(c.commitStallTimeout, 30_000, 'COMMIT_STALL_TIMEOUT defaults to 30 s')
  for (const value of ['500ms', 'never', '0']) {
    assert.throws(
      () => loadProcessorConfig({ COMMIT_STALL_TIMEOUT: value }),
      (e: unknown) => isRtsaError(e, 'CONFIG_INVALID') && /COMMIT_STALL_TIMEOUT/.test(e.message),
      value,
    )
  }
})

test('retention: durations, off keeps forever, defaults 30 days / 7 days / 30 days, a bad value named', () => {
  const d = loadProcessorConfig({})
  assert.deepEqual(
    [d.metricsRetention, d.deadLetterRetention, d.stateRetention],
    [30 * 86_400_000, 7 * 86_400_000, 30 * 86_400_000],
  )
  const c = loadProcessorConfig({
    METRICS_RETENTION: '1 day',
    DEAD_LETTER_RETENTION: 'off',
    STATE_RETENTION: 'OFF',
  })
  assert.deepEqual([c.metricsRetention, c.deadLetterRetention, c.stateRetention], [86_400_000, null, null])
  assert.throws(
    () => loadProcessorConfig({ METRICS_RETENTION: 'forever' }),
    /METRICS_RETENTION="forever" is invalid: expected a duration such as "30 days", or off/,
  )
})

test('WINDOWS: durations, each a whole multiple of WINDOW and of a second; the longer ones are the rollups', () => {
  const d = loadProcessorConfig({})
  assert.deepEqual(d.windows, [60_000, 3_600_000, 86_400_000])
  assert.deepEqual(rollupWindowsOf(d), [3_600_000, 86_400_000])
  const c = loadProcessorConfig({ WINDOWS: ' 1 hour, 5 minutes ,1 minute,1 hour' })
  assert.deepEqual(rollupWindowsOf(c), [300_000, 3_600_000], 'sorted, without repeats or the base window')
  assert.deepEqual(rollupWindowsOf(loadProcessorConfig({ WINDOWS: '1 minute' })), [])
  assert.deepEqual(rollupWindowsOf(loadProcessorConfig({ WINDOW: '10s', WINDOWS: '1 minute' })), [60_000])
  for (const [env, message] of [
    [{ WINDOWS: '1 minute,90 seconds' }, /WINDOWS: 90000 ms is not a whole multiple of WINDOW/],
    [{ WINDOWS: '30 seconds' }, /WINDOWS: 30000 ms is not a whole multiple of WINDOW/],
    [{ WINDOW: '250ms', WINDOWS: '750ms' }, /WINDOWS: 750 ms is not a whole number of seconds/],
    [{ WINDOWS: 'hourly' }, /WINDOWS="hourly" is invalid: expected durations/],
    [{ WINDOWS: ',' }, /WINDOWS="," is invalid/],
    [{ WINDOWS: `1 minute,${'9'.repeat(400)} days` }, /WINDOWS=.* is invalid|WINDOWS: .* not a whole/],
  ] as const) {
    assert.throws(
      () => loadProcessorConfig(env),
      (e: unknown) => isRtsaError(e, 'CONFIG_INVALID') && message.test(e.message),
      JSON.stringify(env).slice(0, 80),
    )
  }
})

test('PROVISIONAL_INTERVAL defaults to 1 s, 0 writes with every batch, at most 1 hour; ROLLUP_RETENTION 400 days', () => {
  const d = loadProcessorConfig({})
  assert.equal(d.provisionalInterval, 1000)
  assert.equal(d.rollupRetention, 400 * 86_400_000)
  assert.equal(loadProcessorConfig({ PROVISIONAL_INTERVAL: '0' }).provisionalInterval, 0)
  assert.equal(loadProcessorConfig({ ROLLUP_RETENTION: 'off' }).rollupRetention, null)
  for (const value of ['2 hours', 'often', '-1s']) {
    assert.throws(
      () => loadProcessorConfig({ PROVISIONAL_INTERVAL: value }),
      (e: unknown) => isRtsaError(e, 'CONFIG_INVALID') && /PROVISIONAL_INTERVAL/.test(e.message),
      value,
    )
  }
})

test('PROCESSOR_THREADS defaults to the cores the process may use; 1 to 64, else a clear error', () => {
  assert.equal(loadProcessorConfig({}).processorThreads, availableParallelism())
  assert.equal(loadProcessorConfig({ PROCESSOR_THREADS: '1' }).processorThreads, 1)
  assert.equal(loadProcessorConfig({ PROCESSOR_THREADS: ' 8 ' }).processorThreads, 8)
  for (const value of ['0', '65', '-2', '1.5', 'two']) {
    assert.throws(
      () => loadProcessorConfig({ PROCESSOR_THREADS: value }),
      (e: unknown) => isRtsaError(e, 'CONFIG_INVALID') && /PROCESSOR_THREADS/.test(e.message),
      `PROCESSOR_THREADS=${JSON.stringify(value)}`,
    )
  }
})
