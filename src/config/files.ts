/** Files named by settings (certificates, password files), read once at startup with bounds. */
import { readFileSync, statSync } from 'node:fs'
import { messageOf } from '../errors/catalogue.ts'

/** Certificates and passwords are small; a setting pointing at something large is a mistake. */
const MAX_FILE_BYTES = 1024 * 1024

/** The file's text, or a problem naming the setting (missing, unreadable, too large, empty). */
export function readSettingFile(setting: string, path: string, problems: string[]): string | undefined {
  try {
    const st = statSync(path)
    if (!st.isFile()) {
      problems.push(`${setting}=${path} is not a file`)
      return undefined
    }
    if (st.size > MAX_FILE_BYTES) {
      problems.push(
        `${setting}=${path} is ${st.size} bytes, more than a certificate or secret (1 MiB at most)`,
      )
      return undefined
    }
    const text = readFileSync(path, 'utf8')
    if (text.trim() === '') {
      problems.push(`${setting}=${path} is empty`)
      return undefined
    }
    return text
  } catch (error) {
    problems.push(`${setting}=${path} cannot be read: ${messageOf(error)}`)
    return undefined
  }
}
