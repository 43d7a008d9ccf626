/**
 * `rtsa generate` (the event generator) and `rtsa produce --file` (replay a JSON-lines
 * file). Flags mirror the env vars of src/generator/config.ts and win over them.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { kafkaOf, topicPolicyOf } from '../config/kafka.ts'
import { RtsaError } from '../errors/catalogue.ts'
import { generatorSettings, loadGeneratorConfig } from '../generator/config.ts'
import { openKafkaProducer } from '../generator/producer.ts'
import { progressLine, progressWriter } from '../generator/progress.ts'
import { JsonLinesSink, replayLines } from '../generator/replay.ts'
import { type RecordSink, runGenerator } from '../generator/run.ts'
import { KafkaAdmin, waitForKafka } from '../kafka/client.ts'
import { describeConnection } from '../kafka/connection.ts'

const say = (name: string) => (line: string) => process.stderr.write(`rtsa ${name}: ${line}\n`)

/** Flag -> env var; parseArgs gives strings, the config loader validates them. */
const COMMON_FLAGS: Record<string, string> = {
  bootstrap: 'KAFKA_BOOTSTRAP',
  topic: 'KAFKA_TOPIC',
  partitions: 'KAFKA_PARTITIONS',
  batch: 'PRODUCER_BATCH',
  'in-flight': 'PRODUCER_MAX_IN_FLIGHT',
}

const GENERATE_FLAGS: Record<string, string> = {
  ...COMMON_FLAGS,
  rate: 'EVENTS_PER_SEC',
  streams: 'STREAM_COUNT',
  'stream-ids': 'STREAM_IDS',
  users: 'USER_COUNT',
  seed: 'SEED',
  count: 'COUNT',
  duration: 'DURATION',
  'simulate-from': 'SIMULATE_FROM',
  'dup-rate': 'FAULT_DUPLICATE_RATE',
  'disorder-rate': 'FAULT_DISORDER_RATE',
  'disorder-max': 'FAULT_DISORDER_MAX',
  'late-rate': 'FAULT_LATE_RATE',
  'malformed-rate': 'FAULT_MALFORMED_RATE',
  watermark: 'WATERMARK',
  progress: 'PROGRESS_INTERVAL',
}

const EXAMPLES: Record<string, string> = {
  generate: 'rtsa generate --rate 500 --streams 20 --seed demo',
  produce: 'rtsa produce --file events.jsonl',
}

function usage(name: string, flags: Record<string, string>, extra: string[]): string {
  const docOf = (env: string) => Object.values(generatorSettings).find((s) => s.env[0] === env)?.doc ?? ''
  const lines = Object.entries(flags).map(([f, env]) => `  --${`${f} <v>`.padEnd(22)} ${env}: ${docOf(env)}`)
  // The settings without a flag (security, the local broker's port) are read as env vars.
  const flagged = new Set(Object.values(flags))
  const others = Object.values(generatorSettings)
    .map((s) => s.env[0]!)
    .filter((e) => !flagged.has(e))
  return [
    `usage: rtsa ${name} [options]`,
    '',
    ...extra,
    ...lines,
    '  -h, --help               show this help',
    '',
    'environment (each flag above also reads its variable):',
    `  ${others.join(', ')}`,
    '',
    'example:',
    `  ${EXAMPLES[name] ?? `rtsa ${name}`}`,
  ].join('\n')
}

/** Parses flags; returns the env with flags applied (flags win) and the leftover values. */
function parse(
  args: string[],
  flags: Record<string, string>,
  own: Record<string, { type: 'string' | 'boolean' }>,
): { env: Record<string, string | undefined>; values: Record<string, string | boolean | undefined> } {
  const options = Object.fromEntries([
    ...Object.keys(flags).map((f) => [f, { type: 'string' as const }]),
    ...Object.entries(own),
    ['help', { type: 'boolean' as const, short: 'h' }],
  ])
  const parsed = parseArgs({ args, options, strict: true, allowPositionals: false })
  // Options are built at run time, so parseArgs cannot type them: every value is a string or a boolean.
  const values = parsed.values as Record<string, string | boolean | undefined>
  const env: Record<string, string | undefined> = { ...process.env }
  for (const [flag, name] of Object.entries(flags)) {
    const v = values[flag]
    if (typeof v === 'string') env[name] = v
  }
  return { env, values }
}

async function kafkaSink(
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<{ sink: RecordSink; close: () => Promise<void>; target: string }> {
  const c = loadGeneratorConfig(env)
  const bootstrap = kafkaOf(c)
  await waitForKafka(bootstrap, { timeoutMs: 15_000, settingName: 'KAFKA_BOOTSTRAP' })
  const admin = new KafkaAdmin(bootstrap)
  try {
    // A topic created a moment ago (by another client) may not be in the metadata yet:
    // creating it then fails with "exists"; asking again shortly after sees it.
    for (let attempt = 1; ; attempt++) {
      try {
        if (await admin.ensureTopic(c.kafkaTopic, topicPolicyOf(c))) {
          log(`created topic ${c.kafkaTopic} with ${c.kafkaPartitions} partitions`)
        }
        break
      } catch (error) {
        if (attempt >= 5 || (error instanceof RtsaError && !error.retryable)) throw error
        await sleep(300 * attempt)
      }
    }
  } finally {
    await admin.close()
  }
  const producer = openKafkaProducer(bootstrap, {
    topic: c.kafkaTopic,
    batchSize: c.batchSize,
    maxInFlight: c.maxInFlight,
  })
  return {
    sink: producer,
    close: () => producer.close(),
    target: `${c.kafkaTopic} on ${describeConnection(bootstrap)}`,
  }
}

/** Aborts on SIGINT/SIGTERM until `dispose` is called. */
function abortOnSignals(log: (line: string) => void): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onSignal = (name: string) => {
    log(`${name}: stopping, flushing what is queued`)
    controller.abort()
  }
  const onInt = () => onSignal('SIGINT')
  const onTerm = () => onSignal('SIGTERM')
  process.once('SIGINT', onInt)
  process.once('SIGTERM', onTerm)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    },
  }
}

/** `rtsa generate`: generates events (live or simulated) to Kafka or to a file. Exit 0, or 1 on delivery errors. */
export async function generateCommand(args: string[]): Promise<number> {
  const log = say('generate')
  const extra = [
    '  Generates realistic live-stream events. Live mode (default) paces at --rate with event',
    '  time = wall time; --simulate-from generates a past interval as fast as possible.',
    '',
    '  --output <file|->          write {key, value} JSON lines instead of sending to Kafka',
  ]
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(args, GENERATE_FLAGS, { output: { type: 'string' } })
  } catch (error) {
    process.stderr.write(
      `rtsa generate: ${(error as Error).message}\n\n${usage('generate', GENERATE_FLAGS, extra)}\n`,
    )
    return 2
  }
  if (parsed.values.help) {
    console.log(usage('generate', GENERATE_FLAGS, extra))
    return 0
  }
  const c = loadGeneratorConfig(parsed.env)
  const streams = c.streamIds ?? []
  const badStream = streams.find((s) => s.length > 128)
  if (badStream !== undefined) {
    throw new RtsaError('CONFIG_INVALID', `STREAM_IDS has an id longer than 128 characters: ${badStream}`)
  }
  const seed = c.seed ?? randomBytes(6).toString('hex')
  const output = parsed.values.output
  const { sink, close, target } =
    typeof output === 'string'
      ? (() => {
          const file = new JsonLinesSink(output)
          return { sink: file, close: () => file.close(), target: output === '-' ? 'stdout' : output }
        })()
      : await kafkaSink(parsed.env, log)
  log(`writing to ${target}; reproduce this run with --seed ${seed}`)
  const { signal, dispose } = abortOnSignals(log)
  try {
    // On a terminal one progress line is redrawn twice a second; elsewhere a line per PROGRESS_INTERVAL.
    const tty = process.stderr.isTTY === true
    const redraw = progressWriter({
      tty: true,
      write: (t) => process.stderr.write(t),
      prefix: 'rtsa generate: ',
      plainEveryMs: 0,
      ttyEveryMs: 0,
    })
    const summary = await runGenerator({
      config: { ...c, seed },
      sink,
      signal,
      log,
      parallel: true,
      ...(tty
        ? {
            progress: {
              everyMs: 500,
              write: (line: string, final: boolean) => {
                redraw.update(Date.now(), () => line)
                if (final) redraw.finish()
              },
            },
          }
        : {}),
    })
    const d = summary.delivery
    const faults = Object.entries(summary.faults)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
    log(
      `done${summary.interrupted ? ' (interrupted)' : ''}: ${summary.records} records in ${(summary.elapsedMs / 1000).toFixed(1)} s, ` +
        `acked ${d.acked}, failed ${d.failed}${faults.length > 0 ? `, faults: ${faults.join(', ')}` : ''}`,
    )
    for (const e of d.errors) log(`delivery error: ${e}`)
    return d.failed > 0 ? 1 : 0
  } finally {
    dispose()
    await close()
  }
}

/** `rtsa produce --file F`: replays a JSON-lines file in order. Exit 0, or 1 on bad lines or delivery errors. */
export async function produceCommand(args: string[]): Promise<number> {
  const log = say('produce')
  const extra = [
    '  Replays a file of JSON lines in order, keyed by stream_id: each line is an event, or a',
    '  {"key": ..., "value": "..."} record sent as is. Bad lines are reported and counted.',
    '',
    '  --file <path|->            the file to replay (- for stdin)',
    '  --send-invalid             also send bad lines (to exercise the dead-letter topic)',
  ]
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(args, COMMON_FLAGS, { file: { type: 'string' }, 'send-invalid': { type: 'boolean' } })
  } catch (error) {
    process.stderr.write(
      `rtsa produce: ${(error as Error).message}\n\n${usage('produce', COMMON_FLAGS, extra)}\n`,
    )
    return 2
  }
  if (parsed.values.help) {
    console.log(usage('produce', COMMON_FLAGS, extra))
    return 0
  }
  const file = parsed.values.file
  if (typeof file !== 'string') {
    process.stderr.write(`rtsa produce: --file is required\n\n${usage('produce', COMMON_FLAGS, extra)}\n`)
    return 2
  }
  const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' })
  const opened = new Promise<void>((resolve, reject) => {
    if (file === '-') resolve()
    else input.once('open', () => resolve()).once('error', reject)
  })
  await opened.catch((error: unknown) => {
    throw new RtsaError('INPUT_INVALID', `cannot read ${file}: ${(error as Error).message}`, { cause: error })
  })
  const { sink, close, target } = await kafkaSink(parsed.env, log)
  log(`replaying ${file} to ${target}`)
  // Progress by bytes of the file read (a known total), or by records from stdin.
  const total = file === '-' ? undefined : statSync(file).size
  const started = Date.now()
  const progress = progressWriter({
    tty: process.stderr.isTTY === true,
    write: (t) => process.stderr.write(t),
    prefix: 'rtsa produce: ',
    plainEveryMs: loadGeneratorConfig(parsed.env).progressEvery,
  })
  const bytesRead = () => (input as { bytesRead?: number }).bytesRead ?? 0
  try {
    const lines = createInterface({ input, crlfDelay: Infinity })
    let shown = 0
    const result = await replayLines(lines, sink, {
      onProgress: (_lines, sent) =>
        progress.update(Date.now(), () => {
          const elapsedMs = Date.now() - started
          return total === undefined
            ? progressLine({ done: sent, unit: 'records', elapsedMs })
            : `${progressLine({ done: bytesRead(), total, unit: 'bytes', elapsedMs })}; ${sent} records sent, acked ${sink.stats.acked}`
        }),
      sendInvalid: parsed.values['send-invalid'] === true,
      onBadLine: (b) => {
        if (++shown <= 100) log(`${file}:${b.line}: ${b.reason}: ${b.detail}`)
        else if (shown === 101) log('more bad lines follow; only the count is reported')
      },
    })
    progress.finish()
    const d = sink.stats
    log(
      `done: ${result.lines} lines, ${result.sent} sent, ${result.bad} bad, acked ${d.acked}, failed ${d.failed}`,
    )
    for (const e of d.errors) log(`delivery error: ${e}`)
    return result.bad > 0 || d.failed > 0 ? 1 : 0
  } finally {
    await close()
  }
}
