import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RtsaError } from '../../errors/catalogue.ts'
import { hasCommand, run } from '../exec.ts'

const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
export const KAFKA_POM = join(REPO_ROOT, 'infra/kafka/pom.xml')
export const KAFKA_LOG4J = join(REPO_ROOT, 'infra/kafka/log4j2.properties')

/**
 * Makes sure the broker's jars are in `<home>/kafka/libs`, fetching them with Maven
 * from the pom kept in the repository. Idempotent: a stamp with the pom's hash says
 * the folder is complete, so a second run does nothing and a changed pom refetches.
 * Returns the libs folder.
 */
export async function installKafka(home: string, log: (line: string) => void = () => {}): Promise<string> {
  const libs = resolve(home, 'kafka/libs')
  const stamp = join(libs, '.complete')
  const pomHash = createHash('sha256').update(readFileSync(KAFKA_POM)).digest('hex')
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === pomHash) return libs
  requireJava()
  if (!hasCommand('mvn')) {
    throw new RtsaError(
      'DEPENDENCY_MISSING',
      'Maven (mvn) is needed once to fetch the local Kafka broker: install it (e.g. `apt-get install maven`), or set KAFKA_BOOTSTRAP to an existing Kafka cluster.',
    )
  }
  log(`fetching Apache Kafka jars with Maven into ${libs}`)
  rmSync(libs, { recursive: true, force: true })
  mkdirSync(libs, { recursive: true })
  try {
    await run('mvn', [
      '-q',
      '-B',
      '-f',
      KAFKA_POM,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
      '-DincludeScope=runtime',
    ])
  } catch (error) {
    throw new RtsaError('KAFKA_INSTALL_FAILED', 'Fetching the Kafka jars with Maven failed', { cause: error })
  }
  if (!readdirSync(libs).some((f) => f.startsWith('kafka_2.13'))) {
    throw new RtsaError('KAFKA_INSTALL_FAILED', `Maven ran but ${libs} holds no kafka_2.13 jar`)
  }
  writeFileSync(stamp, pomHash)
  return libs
}

/** Throws a one-sentence error unless Java 17+ is on the PATH. */
export function requireJava(): void {
  if (!hasCommand('java')) {
    throw new RtsaError(
      'DEPENDENCY_MISSING',
      'Java 17 or newer is needed to run the local Kafka broker: install it (e.g. `apt-get install openjdk-17-jre-headless`), or set KAFKA_BOOTSTRAP to an existing Kafka cluster.',
    )
  }
}
