/**
 * A pipeline to break on purpose: a private broker and PostgreSQL server (so they can be
 * killed without touching anything else), processors as real child processes in one group,
 * and TCP proxies in front of both servers so the network can fail too. Used by the fault
 * matrix test (test/processor/faults.int.test.ts) and the recovery benchmark
 * (bench/faults.ts).
 *
 *   test / bench ──────────────── PLAINTEXT :kafkaPort ──┐
 *   processor i ── kafka proxy ── PROXIED  :kafkaPort+2 ─┴─ broker (advertises the proxy)
 *   processor i ── pg proxy i ─────────────────────────────  PostgreSQL :pgPort
 *
 * Each processor has a PostgreSQL proxy of its own (one can be cut off alone); the broker's
 * PROXIED listener is advertised at the one Kafka proxy, so every processor reaches the broker
 * only through it, while the test's own clients use the direct listener.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { localKafkaPid, startLocalKafka, stopLocalKafka } from '../src/infra/kafka/broker.ts'
import {
  type LocalPostgresOptions,
  startLocalPostgres,
  stopLocalPostgres,
} from '../src/infra/postgres/server.ts'
import { KafkaAdmin } from '../src/kafka/client.ts'
import { migrate } from '../src/store/migrations.ts'
import { createPool } from '../src/store/pool.ts'
import { uniqueName } from './fresh.ts'
import { processorEnv, spawnProcessor, stopChild } from './processes.ts'
import { TcpProxy } from './tcp-proxy.ts'

export interface FaultRigOptions {
  /** The broker's client port; the controller uses +1, the proxied listener +2. */
  readonly kafkaPort: number
  readonly pgPort: number
  /** rtsa's state folder with the Kafka jars (RTSA_HOME). */
  readonly libsHome?: string
  readonly partitions?: number
  readonly processors?: number
  /** More env of every processor. */
  readonly env?: Record<string, string>
}

type Child = ReturnType<typeof spawnProcessor>

/** A free TCP port on 127.0.0.1 (released again; fine for a test's own servers). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

export class FaultRig {
  readonly topic: string
  readonly bootstrap: string[]
  readonly pool: pg.Pool
  readonly kafkaProxy: TcpProxy
  readonly pgProxies: TcpProxy[]
  readonly processors: Child[] = []
  /** Each processor's /ready port. */
  readonly metricsPorts: number[]
  readonly #home: string
  readonly #kafka: Parameters<typeof startLocalKafka>[0]
  readonly #pg: LocalPostgresOptions
  readonly #envs: Record<string, string>[]

  private constructor(
    home: string,
    kafka: Parameters<typeof startLocalKafka>[0],
    pgOptions: LocalPostgresOptions,
    pool: pg.Pool,
    proxies: { kafka: TcpProxy; pg: TcpProxy[] },
    envs: Record<string, string>[],
    metricsPorts: number[],
    topic: string,
  ) {
    this.#home = home
    this.#kafka = kafka
    this.#pg = pgOptions
    this.pool = pool
    this.kafkaProxy = proxies.kafka
    this.pgProxies = proxies.pg
    this.#envs = envs
    this.metricsPorts = metricsPorts
    this.topic = topic
    this.bootstrap = [`127.0.0.1:${kafka.port}`]
  }

  /** Starts the servers, the proxies and the processors (each one a member of the group). */
  static async start(o: FaultRigOptions): Promise<FaultRig> {
    const home = mkdtempSync(join(tmpdir(), 'rtsa-faults-'))
    const kafkaProxy = await TcpProxy.start({ port: o.kafkaPort + 2 })
    const kafka = {
      home: resolve(o.libsHome ?? process.env.RTSA_HOME ?? '.rtsa'),
      dir: join(home, 'kafka'),
      port: o.kafkaPort,
      heapMb: 384,
      extraListeners: [{ name: 'PROXIED', port: o.kafkaPort + 2, advertisedPort: kafkaProxy.port }],
    }
    await startLocalKafka(kafka)
    const pgOptions: LocalPostgresOptions = {
      home,
      // As root, PostgreSQL's data must live where its own user may write.
      dir:
        process.getuid?.() === 0
          ? join('/var/lib/rtsa/test-faults', String(process.pid))
          : join(home, 'postgres'),
      port: o.pgPort,
      database: 'realtime',
    }
    const server = await startLocalPostgres(pgOptions)
    const pool = createPool(server.connectionString, { max: 3 })
    await migrate(pool)
    const topic = uniqueName('faults').replaceAll('_', '.')
    const admin = new KafkaAdmin([`127.0.0.1:${o.kafkaPort}`])
    await admin.ensureTopic(topic, { partitions: o.partitions ?? 3 })
    await admin.close()
    const count = o.processors ?? 2
    const pgProxies: TcpProxy[] = []
    const envs: Record<string, string>[] = []
    const metricsPorts: number[] = []
    const group = uniqueName('faults')
    for (let i = 0; i < count; i++) {
      const proxy = await TcpProxy.start({ port: o.pgPort })
      pgProxies.push(proxy)
      const url = new URL(server.connectionString)
      url.port = String(proxy.port)
      const metricsPort = await freePort()
      metricsPorts.push(metricsPort)
      envs.push(
        processorEnv({
          bootstrap: [`127.0.0.1:${kafkaProxy.port}`],
          databaseUrl: url.toString(),
          topic,
          group,
          extra: {
            BATCH_MAX_RECORDS: '200',
            BATCH_MAX_WAIT: '20ms',
            KAFKA_SESSION_TIMEOUT: '3s',
            COMMIT_STALL_TIMEOUT: '4s',
            METRICS_PORT: String(metricsPort),
            ...o.env,
          },
        }),
      )
    }
    const rig = new FaultRig(
      home,
      kafka,
      pgOptions,
      pool,
      { kafka: kafkaProxy, pg: pgProxies },
      envs,
      metricsPorts,
      topic,
    )
    for (let i = 0; i < count; i++) rig.spawn(i)
    return rig
  }

  /** The env processor `i` runs with. */
  processorEnv(i: number): Record<string, string> {
    return { ...this.#envs[i]! }
  }

  /** Starts processor `i` (again, after a SIGKILL). */
  spawn(i: number): Child {
    const child = spawnProcessor(this.#envs[i]!, `p${i}`)
    this.processors[i] = child
    return child
  }

  /** Processors that are not running, with the end of their output. */
  dead(): string[] {
    return this.processors
      .map((c, i) =>
        c.exitCode !== null || c.signalCode !== null ? `p${i}: ${c.output().slice(-1500)}` : '',
      )
      .filter((s) => s !== '')
  }

  async killBroker(): Promise<void> {
    const pid = localKafkaPid(this.#kafka)
    if (pid === undefined) throw new Error('the broker is not running')
    process.kill(pid, 'SIGKILL')
    while (localKafkaPid(this.#kafka) !== undefined) await sleep(50)
  }

  async stopBroker(): Promise<void> {
    await stopLocalKafka(this.#kafka)
  }

  async startBroker(): Promise<void> {
    await startLocalKafka(this.#kafka)
  }

  async stopPostgres(mode: 'fast' | 'immediate'): Promise<void> {
    await stopLocalPostgres(this.#pg, mode)
  }

  async startPostgres(): Promise<void> {
    await startLocalPostgres(this.#pg)
  }

  /** `/ready` of processor `i`: its status code (0 when it does not answer). */
  async ready(i: number): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPorts[i]}/ready`, {
        signal: AbortSignal.timeout(5000),
      })
      return res.status
    } catch {
      return 0
    }
  }

  /** The partitions processor `i` owns now (its /health), or [] when it does not answer. */
  async owned(i: number): Promise<number[]> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPorts[i]}/health`, {
        signal: AbortSignal.timeout(5000),
      })
      const body = (await res.json()) as { partitions?: number[] }
      return body.partitions ?? []
    } catch {
      return []
    }
  }

  /** Sum of committed offsets (the processors' progress). */
  async committed(): Promise<number> {
    const r = await this.pool.query<{ n: number | null }>(
      'select sum(next_offset)::bigint as n from partition_checkpoints where topic = $1',
      [this.topic],
    )
    return Number(r.rows[0]?.n ?? 0)
  }

  /** Waits until the checkpoints reach the topic's end offsets. */
  async waitCaughtUp(timeoutMs = 120_000): Promise<void> {
    const admin = new KafkaAdmin(this.bootstrap)
    try {
      const end = (await admin.offsets(this.topic)).reduce((n, p) => n + Number(p.latest), 0)
      const deadline = Date.now() + timeoutMs
      // Every record committed, and no partition holding rows back (PROVISIONAL_INTERVAL).
      const heldBack = async () =>
        (
          await this.pool.query<{ n: number }>(
            'select count(*)::int as n from partition_checkpoints where topic = $1 and held_back',
            [this.topic],
          )
        ).rows[0]!.n > 0
      while ((await this.committed().catch(() => -1)) < end || (await heldBack().catch(() => true))) {
        if (Date.now() > deadline)
          throw new Error(`not caught up within ${timeoutMs} ms: ${await this.committed()} of ${end}`)
        await sleep(100)
      }
    } finally {
      await admin.close()
    }
  }

  /**
   * Milliseconds from `since` (epoch ms, the fault's end) until the committed offsets pass
   * `from` (what was committed then): the first commit after the fault.
   */
  async firstCommitAfter(since: number, from: number, timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    while ((await this.committed().catch(() => -1)) <= from) {
      if (Date.now() > deadline) throw new Error(`no commit within ${timeoutMs} ms of the fault's end`)
      await sleep(25)
    }
    return Date.now() - since
  }

  /** SIGSTOP: processor `i` freezes (no heartbeats, no commits) until `thaw` (a SIGKILL ends it frozen too). */
  freeze(i: number): void {
    this.processors[i]!.kill('SIGSTOP')
  }

  thaw(i: number): void {
    this.processors[i]!.kill('SIGCONT')
  }

  async close(): Promise<void> {
    for (const c of this.processors) {
      await stopChild(c, 'SIGKILL')
    }
    this.kafkaProxy.heal()
    for (const p of this.pgProxies) await p.close()
    await this.kafkaProxy.close()
    await this.pool.end().catch(() => {})
    await stopLocalKafka(this.#kafka).catch(() => {})
    await stopLocalPostgres(this.#pg).catch(() => {})
    rmSync(this.#pg.dir!, { recursive: true, force: true })
    rmSync(this.#home, { recursive: true, force: true })
  }
}

/** A fault: returns once it has ended (servers back, network healed, processor restarted). */
export type Fault = (rig: FaultRig) => Promise<void>

/**
 * The faults the matrix test and the recovery benchmark share, by name. `down` is how long
 * a server stays away or the network drops packets (keep it short in tests).
 */
export function faults(downMs: number): Record<string, Fault> {
  const s = `${downMs / 1000} s`
  return {
    'broker SIGKILL + restart': async (rig) => {
      await rig.killBroker()
      await rig.startBroker()
    },
    [`broker down ${s}`]: async (rig) => {
      await rig.stopBroker()
      await sleep(downMs)
      await rig.startBroker()
    },
    'PostgreSQL immediate restart': async (rig) => {
      await rig.stopPostgres('immediate')
      await rig.startPostgres()
    },
    [`PostgreSQL down ${s}`]: async (rig) => {
      await rig.stopPostgres('fast')
      await sleep(downMs)
      await rig.startPostgres()
    },
    [`PostgreSQL black-holed ${s}`]: async (rig) => {
      for (const p of rig.pgProxies) p.blackhole()
      await sleep(downMs)
      for (const p of rig.pgProxies) p.heal()
    },
    [`broker black-holed ${s}`]: async (rig) => {
      rig.kafkaProxy.blackhole()
      await sleep(downMs)
      rig.kafkaProxy.heal()
    },
    [`p0 cut off from PostgreSQL ${s}`]: async (rig) => {
      rig.pgProxies[0]!.blackhole()
      await sleep(downMs)
      rig.pgProxies[0]!.heal()
    },
    [`p1 SIGSTOP ${s}`]: async (rig) => {
      rig.freeze(1)
      await sleep(downMs)
      rig.thaw(1)
    },
    'p0 SIGKILL + restart': async (rig) => {
      await stopChild(rig.processors[0]!, 'SIGKILL')
      rig.spawn(0)
    },
  }
}
