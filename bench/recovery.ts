import type { Benchmark } from './lib/context.ts'

export const recovery: Benchmark = {
  name: 'recovery',
  describe: 'not written yet',
  async run() {
    throw new Error('not written yet')
  },
}
