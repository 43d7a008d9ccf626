import assert from 'node:assert/strict'
import { test } from 'node:test'
import { duration, hostPorts, integer, loadConfig } from '../../src/config/define.ts'
import { engineSettings, kafkaSettings } from '../../src/config/settings.ts'
import { formatDuration, parseBytes, parseDuration, parseHostPorts } from '../../src/config/units.ts'
import { isRtsaError } from '../../src/errors/catalogue.ts'

test('durations read with units, as in the reference deployment', () => {
  assert.equal(parseDuration('10 minutes'), 600_000)
  assert.equal(parseDuration('1 minute'), 60_000)
  assert.equal(parseDuration('30s'), 30_000)
  assert.equal(parseDuration('250ms'), 250)
  assert.equal(parseDuration('1500'), 1500)
  assert.equal(parseDuration('2h'), 7_200_000)
  assert.equal(parseDuration('0.5s'), 500)
  for (const bad of ['banana', '', '10 parsecs', '-5s', '1.00001ms', 'minutes']) {
    assert.equal(parseDuration(bad), undefined, bad)
  }
  assert.equal(formatDuration(600_000), '10 minutes')
  assert.equal(formatDuration(1000), '1 second')
  assert.equal(formatDuration(1500), '1500ms')
})

test('sizes and host lists', () => {
  assert.equal(parseBytes('64MB'), 64 * 1024 ** 2)
  assert.equal(parseBytes('1GiB'), 1024 ** 3)
  assert.equal(parseBytes('12'), 12)
  assert.equal(parseBytes('12 apples'), undefined)
  assert.deepEqual(parseHostPorts('localhost:9092, kafka:29092'), ['localhost:9092', 'kafka:29092'])
  assert.equal(parseHostPorts('nohost'), undefined)
  assert.equal(parseHostPorts('host:0'), undefined)
  assert.equal(parseHostPorts('host:99999'), undefined)
  assert.deepEqual(parseHostPorts('nohost:1'), ['nohost:1'])
})

test('defaults apply when the env is empty', () => {
  const c = loadConfig({ ...kafkaSettings, ...engineSettings }, {})
  assert.equal(c.kafkaTopic, 'stream.events')
  assert.equal(c.kafkaBootstrap, undefined)
  assert.equal(c.watermark, 600_000)
  assert.equal(c.window, 60_000)
  assert.equal(c.viewerTimeout, 300_000)
  assert.equal(c.kafkaPartitions, 6)
})

test('aliases of the reference are read, the canonical name wins', () => {
  const c = loadConfig(kafkaSettings, { BOOTSTRAP: 'a:1', TOPIC: 't' })
  assert.deepEqual(c.kafkaBootstrap, ['a:1'])
  assert.equal(c.kafkaTopic, 't')
  const d = loadConfig(kafkaSettings, { BOOTSTRAP: 'a:1', KAFKA_BOOTSTRAP: 'b:2' })
  assert.deepEqual(d.kafkaBootstrap, ['b:2'])
})

test('a bad value fails with a message naming every bad variable', () => {
  const spec = {
    watermark: duration('WATERMARK', 1, ''),
    n: integer(1, 10)('N', 1, ''),
    h: hostPorts('H', [], ''),
  }
  assert.throws(
    () => loadConfig(spec, { WATERMARK: 'banana', N: '11', H: 'x' }),
    (error: unknown) => {
      assert.ok(isRtsaError(error, 'CONFIG_INVALID'))
      assert.match(error.message, /WATERMARK="banana" is invalid: expected a duration/)
      assert.match(error.message, /N="11" is invalid: expected an integer from 1 to 10/)
      assert.match(error.message, /H="x" is invalid/)
      assert.equal(error.retryable, false)
      return true
    },
  )
})
