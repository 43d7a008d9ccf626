/**
 * recovery: with 1M present viewers of state (lib/viewers.ts), the time from spawning
 * a processor that replaces a SIGKILLed one to its first commit of new records (the
 * committed offsets in partition_checkpoints move past where they were; a claim alone
 * does not count). Baseline in the same run: the same restart after a clean stop
 * (SIGTERM: the old instance commits, releases its partitions and leaves the group), so
 * the ratio is the cost of the kill itself. Processors use the product's default
 * KAFKA_SESSION_TIMEOUT (10 s). `--set static=1`: every processor runs under one
 * KAFKA_GROUP_INSTANCE_ID (static membership), so a restart replaces the killed member
 * at once instead of after the session timeout.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import type { BenchContext, Benchmark } from './lib/context.ts'
import { opt } from './lib/context.ts'
import { type Child, startProcessor, stopChild } from './lib/processors.ts'
import { profileMarkdown, summarize } from './lib/profile.ts'
import { figure } from './lib/report.ts'
import { deleteTopic, freshTopic } from './lib/servers.ts'
import { fmt } from './lib/stats.ts'
import { type IdStyle, idStyle, produceTail, produceViewers } from './lib/viewers.ts'
import { caughtUpProcessor } from './memory.ts'

async function committed(pool: pg.Pool, topic: string): Promise<number> {
  const r = await pool.query<{ n: number | null }>(
    'select sum(greatest(next_offset, 0))::bigint as n from partition_checkpoints where topic = $1',
    [topic],
  )
  return Number(r.rows[0]?.n ?? 0)
}

async function snapshotBytes(pool: pg.Pool, topic: string): Promise<number> {
  const r = await pool.query<{ n: number | null }>(
    'select sum(length(data))::bigint as n from engine_snapshots where topic = $1',
    [topic],
  )
  return Number(r.rows[0]?.n ?? 0)
}

/** Stops `old` with `signal`, adds a few records, spawns a new processor: seconds to its first commit. */
async function restart(
  ctx: BenchContext,
  o: {
    old: Child
    nodeArgs?: string[]
    signal: 'SIGKILL' | 'SIGTERM'
    pool: pg.Pool
    topic: string
    env: Record<string, string>
    name: string
    ids: IdStyle
  },
): Promise<{ seconds: number; child: Child }> {
  const servers = await ctx.servers()
  await stopChild(o.old, o.signal)
  const before = await committed(o.pool, o.topic)
  await produceTail(servers.bootstrap, o.topic, 600, { tag: o.name, ids: o.ids })
  const t0 = performance.now()
  const child = startProcessor(o.env, o.name, o.nodeArgs ?? [])
  const deadline = Date.now() + 180_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`processor exited: ${child.output().slice(-2000)}`)
    if ((await committed(o.pool, o.topic)) > before)
      return { seconds: (performance.now() - t0) / 1000, child }
    await sleep(25)
  }
  await stopChild(child, 'SIGKILL')
  throw new Error(`no commit within 180 s after restart: ${child.output().slice(-2000)}`)
}

export const recovery: Benchmark = {
  name: 'recovery',
  describe: 'SIGKILL -> restart -> first commit, with 1M viewers of state',
  async run(ctx) {
    const viewers = opt(ctx, 'viewers', 1_000_000, 1_000_000)
    const staticMember = opt(ctx, 'static', 0, 0) > 0
    const ids = idStyle(ctx.options)
    const label = staticMember ? ', static membership' : ''
    const servers = await ctx.servers()
    const topic = await freshTopic(servers, 'recovery', 6)
    const killed: number[] = []
    const clean: number[] = []
    let stateBytes = 0
    let profileNote = ''
    try {
      ctx.log(`  producing ${fmt(viewers)} viewers`)
      await produceViewers(servers.bootstrap, topic, viewers, ctx.log, { ids })
      // The product's default session timeout: what a real deployment waits for a dead member.
      const p = await caughtUpProcessor(ctx, topic, 'rec-0', {
        KAFKA_SESSION_TIMEOUT: '10s',
        ...(staticMember ? { KAFKA_GROUP_INSTANCE_ID: 'rtsa-bench-recovery' } : {}),
      })
      ctx.log(`  caught up in ${p.catchUpSeconds.toFixed(1)} s`)
      stateBytes = await snapshotBytes(p.db.pool, topic)
      let current = p.child
      try {
        for (let run = 1; run <= ctx.runs; run++) {
          const c = await restart(ctx, {
            old: current,
            signal: 'SIGTERM',
            pool: p.db.pool,
            topic,
            env: p.env,
            ids,
            name: `rec-c${run}`,
          })
          current = c.child
          clean.push(c.seconds)
          ctx.log(`  run ${run}: clean stop -> restart -> first commit ${c.seconds.toFixed(2)} s`)
          await sleep(2000)
          const k = await restart(ctx, {
            old: current,
            signal: 'SIGKILL',
            pool: p.db.pool,
            topic,
            env: p.env,
            ids,
            name: `rec-k${run}`,
          })
          current = k.child
          killed.push(k.seconds)
          ctx.log(`  run ${run}: SIGKILL -> restart -> first commit ${k.seconds.toFixed(2)} s`)
          await sleep(2000)
        }
        if (opt(ctx, 'profile', 1, 1) > 0) {
          // Unmeasured: one more clean restart under --cpu-prof, stopped right after its first commit.
          const dir = resolve(import.meta.dirname, 'results/profiles')
          mkdirSync(dir, { recursive: true })
          const t0 = Date.now()
          ctx.log('  profiling one restart (--cpu-prof, not measured)')
          const r = await restart(ctx, {
            old: current,
            signal: 'SIGTERM',
            pool: p.db.pool,
            topic,
            env: p.env,
            ids,
            name: 'rec-prof',
            nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
          })
          await stopChild(r.child)
          current = r.child
          const file = readdirSync(dir)
            .filter((f) => f.endsWith('.cpuprofile'))
            .map((f) => join(dir, f))
            .filter((f) => statSync(f).mtimeMs >= t0)[0]
          if (file !== undefined) {
            const sum = summarize(file, 15)
            const md = profileMarkdown(sum)
            writeFileSync(
              resolve(import.meta.dirname, 'results/recovery-profile.md'),
              `# restart profile (1M viewers)\n\n${file}\n\nRestart to first commit: ${r.seconds.toFixed(1)} s (under the profiler).\n\n${md}\n`,
            )
            ctx.log(md)
            profileNote = `Profile of a restart (bench/results/recovery-profile.md, ${r.seconds.toFixed(1)} s under the profiler): ${sum.categories
              .filter((c) => c.name !== 'idle')
              .slice(0, 6)
              .map((c) => `${c.name} ${(c.share * 100).toFixed(0)}%`)
              .join(
                ', ',
              )} of ${(sum.busyMs / 1000).toFixed(1)} s busy; idle ${((sum.totalMs - sum.busyMs) / 1000).toFixed(1)} s.`
          }
        }
      } finally {
        await stopChild(current)
        await p.db.drop()
      }
    } finally {
      await deleteTopic(servers, topic)
    }
    return {
      settings: {
        viewers,
        sessionTimeout: '10s',
        staticMembership: staticMember,
        ids,
        snapshotBytes: stateBytes,
      },
      figures: [
        figure(`restart after SIGKILL to first commit${label}`, 's', killed, {
          baseline: { name: `restart after clean stop${label}`, runs: clean },
          target: '< 5 s',
          met: (v) => v < 5,
        }),
        figure(`restart after clean stop (SIGTERM) to first commit${label}`, 's', clean),
      ],
      notes: [
        `State restored: ${fmt(viewers)} present viewers, ${fmt(stateBytes / 1024 / 1024, 1)} MiB of engine snapshots in PostgreSQL; event ids ${ids === 'uuid' ? 'random UUIDs' : 'short strings that are not UUIDs (`--set ids=plain`)'}.`,
        ...(profileNote ? [profileNote] : []),
        'Measured from spawning the new `rtsa process` child (Node start, migrations, group join, claims, snapshot restore, fetch, process, commit) until the sum of committed offsets grows; 600 new records are produced before each restart.',
      ],
    }
  },
}
