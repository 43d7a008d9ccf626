import type { Benchmark } from './lib/context.ts'

export const memory: Benchmark = {
  name: 'memory',
  describe: 'not written yet',
  async run() {
    throw new Error('not written yet')
  },
}
