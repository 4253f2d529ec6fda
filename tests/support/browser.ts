import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { expect } from "vitest";
import { type ContractApi, startApi } from "./contract-api";

// Debian's Chromium (`apt-get install chromium`; .ci/run installs it when it is missing).
const CHROMIUM = "/usr/bin/chromium";

/** The API under test, its address over real HTTP, and a headless Chromium to drive against it. */
export async function openApiAndBrowser() {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).toBe(true);
  const api = await startApi();
  const base = await api.baseUrl();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  return { api, base, browser };
}

/** Closes what openApiAndBrowser started (either may be missing when it failed half-way). */
export async function closeApiAndBrowser(opened: { api?: ContractApi; browser?: Browser }) {
  await opened.browser?.close();
  await opened.api?.close();
}
