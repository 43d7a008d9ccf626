import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { messageOf, RtsaError } from '../../errors/catalogue.ts'
import { waitForKafka } from '../../kafka/client.ts'
import { isAlive, livePidOf, portIsFree, run, writePidFile } from '../exec.ts'
import { installKafka, KAFKA_LOG4J, requireJava } from './install.ts'

/** Where one local broker keeps its data, logs and pid, and which ports it uses. */
export interface LocalKafkaOptions {
  /** rtsa's state folder; the jars are cached in `<home>/kafka/libs`. */
  readonly home: string
  /** Folder of this broker's data, logs and pid file (default `<home>/kafka`). */
  readonly dir?: string
  /** Client port; the controller listens on `port + 1`. */
  readonly port: number
  readonly heapMb?: number
  readonly log?: (line: string) => void
  /**
   * More listeners beside PLAINTEXT (e.g. one advertised at a proxy's port, or a SASL_SSL
   * one), and broker properties they need. Plain text by default.
   */
  readonly extraListeners?: readonly ExtraListener[]
  readonly extraProperties?: Readonly<Record<string, string>>
  /** More arguments of the storage format on first start, e.g. `--add-scram` to seed SCRAM users. */
  readonly formatArgs?: readonly string[]
}

export interface ExtraListener {
  /** Listener name, e.g. `PROXIED` (not PLAINTEXT or CONTROLLER). */
  readonly name: string
  readonly port: number
  /** The port clients are told to connect to (default `port`): a proxy in front of it. */
  readonly advertisedPort?: number
  /** Security protocol (default PLAINTEXT). */
  readonly protocol?: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'
}

export interface LocalKafka {
  readonly bootstrap: string[]
  readonly pid: number
  /** True when this call started the broker, false when it found it running. */
  readonly started: boolean
  readonly logFile: string
}

function paths(options: LocalKafkaOptions) {
  const dir = resolve(options.dir ?? join(options.home, 'kafka'))
  return {
    dir,
    data: join(dir, 'data'),
    logs: join(dir, 'logs'),
    pidFile: join(dir, 'broker.pid'),
    properties: join(dir, 'server.properties'),
  }
}

function serverProperties(
  port: number,
  dataDir: string,
  extra: readonly ExtraListener[] = [],
  properties: Readonly<Record<string, string>> = {},
): string {
  const listeners = extra.map((l) => `,${l.name}://127.0.0.1:${l.port}`).join('')
  const advertised = extra.map((l) => `,${l.name}://127.0.0.1:${l.advertisedPort ?? l.port}`).join('')
  const protocols = extra.map((l) => `,${l.name}:${l.protocol ?? 'PLAINTEXT'}`).join('')
  // One combined broker+controller node; internal topics need replication factor 1.
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${port + 1}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${port + 1}${listeners}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${advertised}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${protocols}`,
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Lets processors (and tests) use short session timeouts, so a crashed one is replaced quickly.
    'group.min.session.timeout.ms=1000',
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    ...Object.entries(properties).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n')
}

/** The broker of this folder, if it runs: a stale pid file never names a stranger (see livePidOf). */
function readPid(p: { pidFile: string; properties: string }): number | undefined {
  return livePidOf(p.pidFile, p.properties)
}

/**
 * Starts a single-node KRaft broker on 127.0.0.1 in the background (its own process
 * group, so it outlives the caller until {@link stopLocalKafka}), or reuses the one
 * already running from the same folder. Installs the jars and formats the storage on
 * first use. Resolves once the broker answers through the Kafka protocol.
 */
export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const log = options.log ?? (() => {})
  const p = paths(options)
  const bootstrap = [`127.0.0.1:${options.port}`]
  const logFile = join(p.logs, 'server.log')
  const running = readPid(p)
  if (running !== undefined && isAlive(running)) {
    const current = existsSync(p.properties)
      ? /listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(p.properties, 'utf8'))?.[1]
      : undefined
    if (current !== undefined && Number(current) !== options.port) {
      throw new RtsaError(
        'KAFKA_START_FAILED',
        `The local Kafka broker of ${p.dir} already runs on port ${current}, not ${options.port} (KAFKA_PORT): stop it first (rtsa down)`,
      )
    }
    await waitForKafka(bootstrap, { timeoutMs: 60_000, settingName: 'KAFKA_PORT' })
    return { bootstrap, pid: running, started: false, logFile }
  }
  for (const port of [options.port, options.port + 1, ...(options.extraListeners ?? []).map((l) => l.port)]) {
    if (!(await portIsFree(port))) {
      throw new RtsaError(
        'KAFKA_START_FAILED',
        `Port ${port} is already in use, so the local Kafka broker cannot listen there: stop what uses it, set KAFKA_PORT to another port, or set KAFKA_BOOTSTRAP to use a running broker`,
      )
    }
  }
  requireJava()
  const libs = await installKafka(options.home, log)
  const classpath = `${libs}/*`
  mkdirSync(p.logs, { recursive: true })
  writeFileSync(
    p.properties,
    serverProperties(options.port, p.data, options.extraListeners, options.extraProperties),
  )
  if (!existsSync(join(p.data, 'meta.properties'))) {
    log(`formatting Kafka storage in ${p.data}`)
    rmSync(p.data, { recursive: true, force: true })
    const clusterId = (await run('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid']))
      .trim()
      .split('\n')
      .pop()!
    await run('java', [
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      p.properties,
      ...(options.formatArgs ?? []),
    ])
  }
  const out = openSync(join(p.logs, 'stdout.log'), 'a')
  const heap = options.heapMb ?? 512
  const child = spawn(
    'java',
    [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${p.logs}`,
      `-Dlog4j2.configurationFile=${KAFKA_LOG4J}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      p.properties,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  )
  const pid = child.pid
  if (pid === undefined)
    throw new RtsaError('KAFKA_START_FAILED', 'Could not spawn java for the local Kafka broker')
  writePidFile(p.pidFile, pid)
  let exited: number | null | undefined
  child.on('exit', (code) => {
    exited = code
  })
  child.unref()
  log(`started local Kafka broker (pid ${pid}) on ${bootstrap[0]}, logs in ${logFile}`)
  try {
    await waitForKafka(bootstrap, { timeoutMs: 90_000, settingName: 'KAFKA_PORT' })
  } catch (error) {
    if (exited !== undefined || !isAlive(pid)) {
      throw new RtsaError(
        'KAFKA_START_FAILED',
        `The local Kafka broker exited (code ${exited}); see ${logFile} and ${join(p.logs, 'stdout.log')}`,
        { cause: error },
      )
    }
    throw new RtsaError(
      'KAFKA_START_FAILED',
      `The local Kafka broker did not become ready: ${messageOf(error)}`,
      {
        cause: error,
      },
    )
  }
  return { bootstrap, pid, started: true, logFile }
}

/** Stops the broker started from this folder: SIGTERM, then waits (SIGKILL after `timeoutMs`). */
export async function stopLocalKafka(
  options: Pick<LocalKafkaOptions, 'home' | 'dir'>,
  timeoutMs = 60_000,
): Promise<boolean> {
  const p = paths({ ...options, port: 0 })
  const pid = readPid(p)
  if (pid === undefined || !isAlive(pid)) {
    rmSync(p.pidFile, { force: true })
    return false
  }
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(100)
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  while (isAlive(pid)) await sleep(50)
  rmSync(p.pidFile, { force: true })
  return true
}

/** Deletes the broker's data (topics, offsets) so the next start formats fresh storage. */
export function wipeLocalKafka(options: Pick<LocalKafkaOptions, 'home' | 'dir'>): void {
  rmSync(paths({ ...options, port: 0 }).data, { recursive: true, force: true })
}

/** Pid of a running local broker from this folder, if any. */
export function localKafkaPid(options: Pick<LocalKafkaOptions, 'home' | 'dir'>): number | undefined {
  const pid = readPid(paths({ ...options, port: 0 }))
  return pid !== undefined && isAlive(pid) ? pid : undefined
}
