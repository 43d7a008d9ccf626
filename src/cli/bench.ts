/**
 * `rtsa bench [name...] [--long] [--runs N] [--set key=value]`: the benchmark harness
 * of bench/main.ts (engine, catchup, freshness, api, memory, recovery) on a private
 * Kafka broker and PostgreSQL. Results go to bench/results/.
 */
export async function benchCommand(args: string[]): Promise<number> {
  const { main } = await import('../../bench/main.ts')
  return main(args)
}
