/** Headless Chromium for the browser tests (Debian's `chromium`, driven by playwright-core). */
import { type Browser, chromium, type Page } from 'playwright-core'

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Starts the machine's Chromium (fails loudly when it is not installed). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS })
}

/** Waits until the element's text is `text` (the page's code runs in the browser, so pass it as a string). */
export async function waitForText(
  page: Page,
  selector: string,
  text: string,
  timeout = 10_000,
): Promise<void> {
  const expr = `document.querySelector(${JSON.stringify(selector)})?.textContent === ${JSON.stringify(text)}`
  await page.waitForFunction(expr, undefined, { timeout })
}
