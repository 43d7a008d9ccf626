import { loadProcessorConfig } from '../processor/config.ts'
import { runProcessor } from '../processor/wiring.ts'

/** `rtsa process`: one stream processor instance (src/processor/wiring.ts) until SIGINT/SIGTERM. */
export async function processCommand(): Promise<number> {
  return runProcessor(loadProcessorConfig())
}
