import { createRequire } from 'node:module';

// Loads playwright-core (driving the system's Chromium, no browser download).
// TEMPORARY: playwright-core is not yet a devDependency; until it is, this
// falls back to a scratch install in /tmp/pw (npm install playwright-core
// there). The lead replaces this with a plain import on merge. The types
// below are the few calls the tests use.

export interface Locator {
  waitFor(opts?: { state?: 'attached' | 'visible'; timeout?: number }): Promise<void>;
  textContent(): Promise<string | null>;
  click(): Promise<void>;
  first(): Locator;
}
export interface Page {
  goto(url: string, opts?: { waitUntil?: 'load' | 'domcontentloaded' }): Promise<unknown>;
  locator(selector: string): Locator;
  screenshot(opts: { path: string; fullPage?: boolean }): Promise<unknown>;
  waitForURL(url: RegExp, opts?: { timeout?: number }): Promise<void>;
  on(event: 'pageerror', fn: (e: Error) => void): void;
  on(event: 'framenavigated', fn: () => void): void;
}
export interface BrowserContext {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
export interface Playwright {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      opts: { executablePath: string; headless: boolean; args: string[]; viewport?: { width: number; height: number }; javaScriptEnabled?: boolean },
    ): Promise<BrowserContext>;
  };
}

/** playwright-core, or null when it is not installed. */
export function loadPlaywright(): Playwright | null {
  for (const from of [import.meta.url, '/tmp/pw/package.json']) {
    try {
      return createRequire(from)('playwright-core') as Playwright;
    } catch {
      // try the next place
    }
  }
  return null;
}
