import assert from 'node:assert/strict'
import { test } from 'node:test'
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
