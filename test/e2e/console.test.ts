import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sha256Hex } from "../../shared/domain/client.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { type FakeGraph, startFakeGraph } from "../support/fakeGraph.js";
import { type LocalHost, startLocalHost, waitForStatus } from "../support/localHost.js";

const MiB = 1024 * 1024;
const slow = 120_000;

// The built local host (`node dist/dev/start.js`) serving the console, with a scanner client on the graph
// transport pointed at the loopback Graph and Entra ID, and the development client (an operator) on the
// local SMTP sink. Headless Chromium drives the console as an operator would.
describe("the operator's console in a browser", () => {
  const scannerKey = `mh_mfp_${randomBytes(16).toString("hex")}`;
  const devKey = `mh_dev_${randomBytes(16).toString("hex")}`;
  let graph: FakeGraph;
  let host: LocalHost;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let failedId = "";
  let hostileId = "";
  const requests: string[] = [];
  const challenges: string[] = [];

  const send = async (key: string, body: Record<string, unknown>) => {
    const response = await fetch(`${host.url}/api/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const seen = (text: string | RegExp, timeout = 20_000) =>
    page.getByText(text).first().waitFor({ state: "visible", timeout });

  beforeAll(async () => {
    // The app registration starts with Mail.Send only: a message over 4 MB needs Mail.ReadWrite too.
    graph = await startFakeGraph({
      tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
      tenantId: "contoso-tenant",
      clientId: "app-console",
      clientSecret: "console-secret",
      mailboxes: ["scanner@contoso.com"],
      roles: ["Mail.Send"],
    });
    host = await startLocalHost({
      env: {
        MAILHOOK_CLIENTS: JSON.stringify([
          {
            id: "mfp",
            keySha256: sha256Hex(scannerKey),
            senders: ["scanner@contoso.com"],
            defaultSender: "scanner@contoso.com",
            transport: "graph",
          },
        ]),
        MAILHOOK_DEV_KEY: devKey,
        ENTRA_TENANT_ID: "contoso-tenant",
        ENTRA_CLIENT_ID: "app-console",
        ENTRA_CLIENT_SECRET: "console-secret",
        ENTRA_AUTHORITY_HOST: graph.url,
        GRAPH_ENDPOINT: graph.url,
      },
    });
    // A scan of 5 MB: Graph takes it only through a draft and an upload session.
    const form = new FormData();
    form.append("to", "alice@contoso.com");
    form.append("subject", "Scan 5 MB from MFP-7");
    form.append(
      "file",
      new Blob([Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(5 * MiB)])], {
        type: "application/pdf",
      }),
      "scan.pdf",
    );
    const scan = await fetch(`${host.url}/api/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${scannerKey}` },
      body: form,
    });
    failedId = ((await scan.json()) as { id: string }).id;
    await waitForStatus({ url: host.url, devKey }, failedId, (s) => s === "failed", 30_000);

    // Text from callers and the internet that would run as script if it were ever treated as HTML.
    hostileId = await send(devKey, {
      to: ["mallory@contoso.com"],
      subject: `<img src=x onerror="window.__pwned='subject'"> & <script>window.__pwned='script'</script>`,
      text: "hostile",
      metadata: { note: `<iframe src="javascript:window.__pwned='meta'"></iframe>` },
      attachments: [
        {
          name: `"><svg onload="window.__pwned='file'">.pdf`,
          contentBytes: Buffer.from("%PDF-").toString("base64"),
        },
      ],
    });
    await waitForStatus({ url: host.url, devKey }, hostileId, (s) => s === "sent");

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on("request", (request) => requests.push(request.url()));
    page.on("response", (response) => {
      const challenge = response.headers()["www-authenticate"];
      if (challenge) challenges.push(challenge);
    });
  }, slow);

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    await graph?.stop();
  });

  it(
    "says clearly that a wrong key was not accepted, without the browser's login dialog",
    async () => {
      const response = await page.goto(`${host.url}/`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toContain("default-src 'self'");
      expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
      await page.getByLabel("API key").waitFor();
      await screenshot(page, "01-sign-in");
      await page.getByLabel("API key").fill("mh_wrong_key");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
      await screenshot(page, "02-wrong-key");
      // The API challenged in the scheme the console used: no Basic, so no browser dialog.
      expect(challenges.length).toBeGreaterThan(0);
      expect(challenges.every((c) => !/basic/i.test(c))).toBe(true);
    },
    slow,
  );

  it(
    "signs in and finds the failed scan",
    async () => {
      await page.getByLabel("API key").fill(devKey);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Messages" }).waitFor();
      expect(await page.evaluate(() => window.sessionStorage.getItem("mailhook.apiKey"))).toBe(devKey);
      await page.getByLabel("Status").selectOption("failed");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.waitForURL(/status=failed/);
      await page.getByRole("link", { name: "Scan 5 MB from MFP-7" }).waitFor();
      await screenshot(page, "03-messages-failed");
    },
    slow,
  );

  it(
    "reaches the list's filters, rows and bulk actions by keyboard",
    async () => {
      // Start from the top of a freshly loaded page, as someone arriving by a link would.
      await page.goto(page.url());
      await page.getByRole("link", { name: "Scan 5 MB from MFP-7" }).waitFor();
      const reached = new Set<string>();
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press("Tab");
        reached.add(
          await page.evaluate(() => {
            const el = document.activeElement as HTMLInputElement | null;
            const label = el?.labels?.[0]?.textContent ?? undefined;
            return (el?.getAttribute("aria-label") ?? label ?? el?.textContent ?? "").trim();
          }),
        );
      }
      for (const control of [
        "Skip to content",
        "Messages",
        "Mailboxes",
        "Overview",
        "Sign out",
        "Status",
        "Client",
        "Mailbox",
        "Created",
        "Search",
        "Apply filters",
        "Clear filters",
        "Refresh every 5 seconds",
        "Select all failed on this page",
        "Select Scan 5 MB from MFP-7 for retry",
        "Scan 5 MB from MFP-7",
      ])
        expect([...reached], control).toContain(control);
      // Selecting by keyboard enables the bulk retry.
      await page.getByLabel("Select Scan 5 MB from MFP-7 for retry").focus();
      await page.keyboard.press("Space");
      expect(await page.getByRole("button", { name: "Retry selected (1)" }).isEnabled()).toBe(true);
      await page.keyboard.press("Space");
    },
    slow,
  );

  it(
    "opens the failed scan and reads why it failed, in words",
    async () => {
      await page.getByRole("link", { name: "Scan 5 MB from MFP-7" }).click();
      await page.waitForURL(new RegExp(`view=message&id=${failedId}`));
      await page.getByRole("heading", { name: "Why it failed" }).waitFor();
      const reason = await page.locator(".reason").textContent();
      expect(reason).toContain("Mail.ReadWrite permission is missing");
      expect(reason).toContain("403 ErrorAccessDenied");
      expect(reason).toMatch(/What to do: .*Mail\.ReadWrite/);
      await screenshot(page, "04-message-failed");
    },
    slow,
  );

  it(
    "reaches every action by keyboard, and a Retry by keyboard sends it once the cause is fixed",
    async () => {
      await page.goto(page.url());
      await page.getByRole("heading", { name: "Why it failed" }).waitFor();
      const reached: string[] = [];
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press("Tab");
        reached.push(
          await page.evaluate(() => {
            const el = document.activeElement as HTMLElement | null;
            return (el?.getAttribute("aria-label") ?? el?.textContent ?? "").trim();
          }),
        );
        if (reached.at(-1) === "Retry") break;
      }
      expect(reached).toEqual(
        expect.arrayContaining([
          "Skip to content",
          "Messages",
          "Mailboxes",
          "Overview",
          "Sign out",
          "Back to messages",
        ]),
      );
      expect(reached.at(-1)).toBe("Retry");

      // The admin grants Mail.ReadWrite; the token cached from the failed attempt lacks the role.
      graph.grant(["Mail.Send", "Mail.ReadWrite"]);
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "Retry requested" }).waitFor();
      await page.locator(".status-line .badge", { hasText: /^sent$/ }).waitFor({ timeout: 30_000 });
      expect(graph.accepted.map((m) => m.message.subject)).toEqual(["Scan 5 MB from MFP-7"]);
      const timeline = await page.locator(".timeline").textContent();
      expect(timeline).toMatch(/queued\s+retry requested\s+by dev/);
      await screenshot(page, "05-message-sent");
    },
    slow,
  );

  it(
    "renders hostile subjects, file names and metadata as text, and runs none of them",
    async () => {
      await page.goto(`${host.url}/?view=messages&q=mallory`);
      const subject = `<img src=x onerror="window.__pwned='subject'"> & <script>window.__pwned='script'</script>`;
      await page.getByRole("link", { name: subject }).waitFor();
      await page.getByRole("link", { name: subject }).click();
      await page.locator(".file-name").waitFor();
      expect(await page.locator(".file-name").textContent()).toBe(
        `"><svg onload="window.__pwned='file'">.pdf`,
      );
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(subject);
      await seen(`<iframe src="javascript:window.__pwned='meta'"></iframe>`);
      const injected = await page.evaluate(() => ({
        pwned: (window as unknown as { __pwned?: string }).__pwned,
        elements: document.querySelectorAll("main img, main script, main svg, main iframe").length,
      }));
      expect(injected).toEqual({ pwned: undefined, elements: 0 });
      await screenshot(page, "08-hostile-text");
    },
    slow,
  );

  it(
    "cancels a scheduled message after asking, and records who did",
    async () => {
      const id = await send(devKey, {
        to: ["later@contoso.com"],
        subject: "Tomorrow's reminder",
        text: "x",
        sendAt: new Date(Date.now() + 86_400_000).toISOString(),
      });
      await page.goto(`${host.url}/?view=message&id=${id}`);
      await page.getByRole("button", { name: "Cancel message" }).click();
      // Nothing happens before the confirmation; "No, keep it" goes back.
      await page.getByRole("button", { name: "No, keep it" }).click();
      expect(await page.locator(".status-line .badge").textContent()).toBe("scheduled");
      await page.getByRole("button", { name: "Cancel message" }).click();
      await page.getByRole("button", { name: "Yes, cancel it" }).click();
      await page.locator(".status-line .badge", { hasText: /^cancelled$/ }).waitFor();
      expect(await page.locator(".timeline").textContent()).toMatch(/cancelled\s*cancel requested\s*by dev/);
      expect(await page.getByRole("button", { name: /Retry|Cancel message/ }).count()).toBe(0);
    },
    slow,
  );

  it(
    "shows each mailbox's usage as meters with the right numbers after a burst",
    async () => {
      // A burst from one mailbox: 7 messages of 2 recipients each, all within the minute the view shows.
      const burst = await Promise.all(
        Array.from({ length: 7 }, (_, i) =>
          send(devKey, {
            from: "burst@contoso.com",
            to: ["a@contoso.com", "b@contoso.com"],
            subject: `Burst ${i}`,
            text: "x",
          }),
        ),
      );
      for (const id of burst) await waitForStatus({ url: host.url, devKey }, id, (s) => s === "sent");
      await page.getByRole("link", { name: "Mailboxes" }).click();
      const card = page
        .getByRole("listitem")
        .filter({ has: page.getByRole("heading", { name: "burst@contoso.com" }) });
      const messages = card.getByRole("meter", { name: /^Messages in the last minute/ });
      await messages.waitFor();
      expect(await messages.getAttribute("aria-label")).toBe("Messages in the last minute: 7 of 30");
      expect([await messages.getAttribute("value"), await messages.getAttribute("max")]).toEqual(["7", "30"]);
      const recipients = card.getByRole("meter", { name: /^Recipients in the last 24 hours/ });
      expect(await recipients.getAttribute("aria-label")).toBe(
        "Recipients in the last 24 hours: 14 of 10,000",
      );
      expect(await card.textContent()).toContain("7 of 30");
      const scanner = page
        .getByRole("listitem")
        .filter({ has: page.getByRole("heading", { name: "scanner@contoso.com" }) });
      // Two attempts of one recipient each: pacing counts a refused attempt too (it cannot know what the
      // provider counted), so the sent retry makes two.
      expect(
        await scanner
          .getByRole("meter", { name: /^Recipients in the last 24 hours/ })
          .getAttribute("aria-label"),
      ).toBe("Recipients in the last 24 hours: 2 of 10,000");
      // Graph's upload budget (150 MB per 5 minutes) for the Graph mailbox, whose 5 MB scan went up in an
      // upload session; an SMTP mailbox has none.
      const uploads = scanner.getByRole("meter", { name: /^MB uploaded to Graph in the last 5 minutes/ });
      expect(await uploads.getAttribute("max")).toBe("150");
      expect(Number(await uploads.getAttribute("value"))).toBeGreaterThanOrEqual(5);
      expect(await card.getByRole("meter", { name: /^MB uploaded/ }).count()).toBe(0);
      await screenshot(page, "06-mailboxes");
    },
    slow,
  );

  it(
    "charts the last 24 hours and the backlog",
    async () => {
      await page.getByRole("link", { name: "Overview" }).click();
      await page.getByRole("img", { name: /Messages per hour, last 24 hours/ }).waitFor();
      await seen(/Backlog now:/);
      // Sent: the hostile message, the burst and the retried scan; failed: the scan's first attempt.
      expect(await page.locator("main").textContent()).toMatch(
        /In the last 24 hours: 9 sent, \d+ deferred, 1 failed\./,
      );
      expect(await page.locator("rect.bar").count()).toBeGreaterThanOrEqual(2);
      await screenshot(page, "07-overview");
    },
    slow,
  );

  it(
    "says so when the API cannot be reached",
    async () => {
      await page.route("**/api/**", (route) => route.abort("connectionrefused"));
      await page.getByRole("link", { name: "Messages" }).click();
      await page.getByRole("alert").filter({ hasText: "cannot be reached" }).waitFor();
      await screenshot(page, "11-unreachable");
      await page.unroute("**/api/**");
      await page.getByRole("button", { name: "Try again" }).first().click();
      await page.getByRole("table").waitFor();
    },
    slow,
  );

  it(
    "is readable on a phone",
    async () => {
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      });
      const small = await phone.newPage();
      await small.goto(`${host.url}/`);
      await small.getByLabel("API key").fill(devKey);
      await small.getByRole("button", { name: "Sign in" }).click();
      await small.getByRole("link", { name: "Scan 5 MB from MFP-7" }).waitFor();
      const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(small, "09-phone-messages");
      await small.getByRole("link", { name: "Scan 5 MB from MFP-7" }).click();
      await small.getByRole("heading", { name: "Timeline" }).waitFor();
      expect(
        await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await screenshot(small, "10-phone-message");
      await phone.close();
    },
    slow,
  );

  it(
    "forgets the key on sign-out, never put it in a URL, and asked no other host for anything",
    async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("API key").waitFor();
      expect(await page.evaluate(() => window.sessionStorage.length + window.localStorage.length)).toBe(0);
      expect(await context.cookies()).toEqual([]);
      expect(requests.length).toBeGreaterThan(10);
      expect(requests.filter((url) => new URL(url).origin !== host.url)).toEqual([]);
      expect(requests.filter((url) => url.includes(devKey))).toEqual([]);
    },
    slow,
  );
});
