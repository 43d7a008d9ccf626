/**
 * Recovery from faults: two processors in one group on a private broker and database
 * (testkit/fault-rig.ts), each fault of the matrix `--runs` times; the figure is the time
 * from the fault's end (servers back, network healed, processor restarted) until the
 * committed offsets move again, with new records waiting, and until every partition has
 * caught up (a partition of a lost member waits for the group to move it). The test
 * (test/processor/faults.int.test.ts) checks the same faults for correctness; this only
 * measures.
 */
import { randomUUID } from 'node:crypto'
import { FaultRig, faults } from '../testkit/fault-rig.ts'
import { type Benchmark, opt } from './lib/context.ts'
import { figure } from './lib/report.ts'
import { produceTail } from './lib/viewers.ts'

export const faultsBench: Benchmark = {
  name: 'faults',
  describe: 'fault end -> first commit, per fault (broker, database, network, processor), 2 processors',
  async run(ctx) {
    const downMs = opt(ctx, 'down', 10_000, 60_000)
    const rig = await FaultRig.start({
      kafkaPort: opt(ctx, 'kafka_port', 46292, 46292),
      pgPort: opt(ctx, 'pg_port', 46632, 46632),
    })
    const traffic = (count: number) =>
      produceTail(rig.bootstrap, rig.topic, count, { tag: randomUUID().slice(0, 8), streams: 60 })
    const figures = []
    try {
      await traffic(5000)
      await rig.waitCaughtUp()
      for (const [name, fault] of Object.entries(faults(downMs))) {
        const runs: number[] = []
        const whole: number[] = []
        for (let run = 1; run <= ctx.runs; run++) {
          await traffic(600)
          await fault(rig)
          const ended = Date.now()
          const from = await rig.committed()
          await traffic(600)
          runs.push((await rig.firstCommitAfter(ended, from)) / 1000)
          await rig.waitCaughtUp(180_000)
          whole.push((Date.now() - ended) / 1000)
          const dead = rig.dead()
          if (dead.length > 0) throw new Error(`a processor died in "${name}": ${dead.join('\n')}`)
          ctx.log(
            `  ${name} #${run}: first commit ${runs.at(-1)!.toFixed(2)} s, all caught up ${whole.at(-1)!.toFixed(2)} s after the fault ended`,
          )
        }
        figures.push(figure(`${name}: fault end -> first commit`, 's', runs))
        figures.push(figure(`${name}: fault end -> every partition caught up`, 's', whole))
      }
    } finally {
      await rig.close()
    }
    return {
      settings: {
        processors: 2,
        partitions: 3,
        down_ms: downMs,
        KAFKA_SESSION_TIMEOUT: '3s',
        COMMIT_STALL_TIMEOUT: '4s',
        BATCH_MAX_RECORDS: 200,
      },
      figures,
      notes: [
        'Times scale with the settings: with the defaults (KAFKA_SESSION_TIMEOUT 10 s, COMMIT_STALL_TIMEOUT 30 s) a fault that needs the group to notice a member (SIGSTOP, broker black-holed) or a stall takes correspondingly longer.',
        'A server "back" means accepting connections again (startLocalKafka / startLocalPostgres returned).',
      ],
    }
  },
}
