/**
 * Headless Chromium for the fleet report's browser test, its benchmark and its screenshot:
 * Debian's `chromium` package (`.ci/run` installs it when missing) driven by `playwright-core`,
 * which never downloads a browser of its own. Local tooling only: nothing here is shipped.
 *
 * Flags: no sandbox (CI runs as root), no GPU, and every background connection off (QUIC,
 * component updates, sync, first-run, background networking): this machine's network is closed,
 * and the page under test must make no request of its own.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Where Debian's package puts the browser; `CHROMIUM_PATH` overrides it. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** The launch arguments (Playwright adds `--headless` and the user data folder). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running browser; `close()` stops it and removes its fresh profile. */
export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh, empty profile folder.
 *
 * @param options.viewport - the page size in CSS pixels (default 1280 × 900).
 * @param options.env - read for `CHROMIUM_PATH` only (default: the process's environment).
 * @throws {Error} naming the path and how to install the browser, when it is not there.
 */
export async function launchChromium(
  options: { readonly viewport?: { width: number; height: number }; readonly env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<HeadlessChromium> {
  const executablePath = (options.env ?? process.env).CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: install Debian's package (apt-get install -y --no-install-recommends chromium; .ci/run does) ` +
        'or set CHROMIUM_PATH to a Chromium or Chrome binary',
    );
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'kms-replicas-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: options.viewport ?? { width: 1280, height: 900 },
      offline: true,
    });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
