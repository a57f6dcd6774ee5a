import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { projectRoot } from "../../dev/settings.js";

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it): playwright's own download needs the internet. */
export const chromiumPath = "/usr/bin/chromium";

/** Headless Chromium. As root (containers, CI) it needs --no-sandbox; /dev/shm is small in containers. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(`${chromiumPath} is missing: install Debian's chromium (apt-get install -y chromium)`);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/** Saves a full-page screenshot under test-results/console/ (gitignored) for a reviewer to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(projectRoot(), "test-results", "console");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
