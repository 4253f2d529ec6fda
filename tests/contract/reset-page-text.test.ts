import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeApiAndBrowser, openApiAndBrowser } from "../support/browser";
import type { ContractApi } from "../support/contract-api";

// The reset page (public/assets/reset-password.js) shows what the API answers. Whatever that
// text holds (a message may one day echo input), it is shown as text: markup in it never becomes
// elements of the page. The API's answers are stood in for, to carry markup.

let api: ContractApi;
let base: string;
let browser: Browser;
beforeAll(async () => {
  ({ api, base, browser } = await openApiAndBrowser());
});
afterAll(() => closeApiAndBrowser({ api, browser }));

const MARKUP_MSG = 'Refused <b id="from-msg">loudly</b> <img id="img-from-msg" src="/x">';
const MARKUP_DETAIL = '<i id="from-detail">too short</i>';
const MARKUP_SUCCESS = '<em id="from-success">Done</em>.';

describe("the reset page shows the API's answer as text", () => {
  it("a message, its details and a success message holding markup", {
    timeout: 90_000,
  }, async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const answers = [
      {
        status: 400,
        body: {
          msg: MARKUP_MSG,
          code: "VALIDATION_ERROR",
          details: [{ path: "new_password", message: MARKUP_DETAIL }],
        },
      },
      { status: 200, body: { msg: MARKUP_SUCCESS } },
    ];
    await page.route(`${base}/api/user/reset_password`, (route) => {
      const answer = answers.shift();
      if (!answer) return route.abort();
      return route.fulfill({
        status: answer.status,
        contentType: "application/json",
        body: JSON.stringify(answer.body),
      });
    });
    const res = await page.goto(`${base}/reset-password?token=some-token`);
    expect(res?.status()).toBe(200);

    const status = page.getByRole("status");
    const submit = async () => {
      await page.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
      await page.getByLabel("New password, again").fill("a brand new passphrase");
      await page.getByRole("button", { name: "Set the new password" }).click();
    };
    const injected = () =>
      page.locator("#from-msg, #img-from-msg, #from-detail, #from-success").count();

    await submit();
    await expect.poll(() => status.getAttribute("class")).toBe("error");
    expect(await status.textContent()).toBe(MARKUP_MSG);
    expect(await page.locator("#problems li").allTextContents()).toEqual([
      `new_password: ${MARKUP_DETAIL}`,
    ]);
    expect(await injected()).toBe(0);

    await submit();
    await expect.poll(() => status.getAttribute("class")).toBe("success");
    expect(await status.textContent()).toBe(
      `${MARKUP_SUCCESS} You can now log in with the new password.`,
    );
    expect(await injected()).toBe(0);
    expect(answers).toEqual([]);
    await context.close();
  });
});
