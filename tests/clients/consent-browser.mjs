// Drives headless Chromium (Debian's `chromium`, through playwright-core) over the broker's
// consent page, as a person would, and prints what happened as one JSON line; the Rust test
// (tests/it/broker/browser.rs) asserts on it.
//
//   node consent-browser.mjs <plan.json>
//
// The plan names an authorization URL per scenario (each its own sign-in) and where the
// screenshot goes:
//   approve  keyboard only: Tab to "Allow", Enter; the client's redirect gets a code
//   deny     a click on "Deny"; the client gets access_denied
//   csrf     the form's CSRF token removed before "Allow"; refused, no code
//   framed   a live consent page inside an <iframe>; the browser refuses to show it
// and checks accessibility on the way: language, title, landmark, heading, button names, the
// focus order, and the contrast of every text against its background.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const browser = await chromium.launch({
  executablePath: plan.chromium ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    // The framing page is answered by this script, so Chromium takes it for a public page
    // reaching into the local network and would block that first; the test is about what the
    // broker's headers make the browser do.
    "--disable-features=LocalNetworkAccessChecks",
  ],
});

// A context whose requests to the client's redirect URI are answered here (nothing listens
// there), recording where the browser was sent.
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const arrivals = [];
  const framer = { target: null };
  await context.route(`${plan.clientOrigin}/**`, (route) => {
    const url = route.request().url();
    if (url.endsWith("/framer") && framer.target) {
      // Another origin on the same site: the browser sends the sign-in's cookie along.
      route.fulfill({
        status: 200,
        contentType: "text/html",
        body: `<!DOCTYPE html><title>framer</title><iframe src="${framer.target}" width="600" height="600"></iframe>`,
      });
      return;
    }
    arrivals.push(url);
    route.fulfill({ status: 200, contentType: "text/plain", body: "client callback" });
  });
  return { context, page, arrivals, framer };
}

async function waitFor(predicate, what) {
  for (let i = 0; i < 100; i++) {
    const value = await predicate();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function relativeLuminance([r, g, b]) {
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

async function accessibility(page) {
  const facts = await page.evaluate(() => {
    const parse = (value) => (value.match(/[\d.]+/g) || []).map(Number);
    const background = (element) => {
      for (let node = element; node; node = node.parentElement) {
        const color = parse(getComputedStyle(node).backgroundColor);
        if (color.length === 3 || (color.length === 4 && color[3] > 0)) return color.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const texts = [];
    for (const element of document.querySelectorAll("h1, h2, p, dt, dd, li, button, a, strong, span, code")) {
      if (!element.textContent.trim()) continue;
      texts.push({
        tag: element.tagName + (element.className ? "." + element.className : ""),
        color: parse(getComputedStyle(element).color).slice(0, 3),
        background: background(element),
      });
    }
    return {
      lang: document.documentElement.lang,
      title: document.title,
      mains: document.querySelectorAll("main").length,
      h1: document.querySelector("h1")?.textContent ?? "",
      buttons: [...document.querySelectorAll("button")].map((b) => b.textContent.trim()),
      scripts: document.querySelectorAll("script").length,
      texts,
    };
  });
  let worst = 21;
  let worstTag = "";
  for (const text of facts.texts) {
    const [light, dark] = [relativeLuminance(text.color), relativeLuminance(text.background)].sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    if (ratio < worst) { worst = ratio; worstTag = text.tag; }
  }
  // The order Tab visits controls, from the top of the page.
  const order = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => {
      const element = document.activeElement;
      const outline = getComputedStyle(element).outlineStyle;
      return { tag: element.tagName, text: element.textContent.trim(), outline };
    }));
  }
  delete facts.texts;
  return { ...facts, minimumContrast: Math.round(worst * 100) / 100, worstContrastElement: worstTag, tabOrder: order };
}

const result = {};

// Approve, by keyboard alone.
{
  const { context, page, arrivals } = await newPage();
  await page.goto(plan.approve);
  await page.waitForSelector("form button");
  result.consentUrl = page.url();
  result.a11y = await accessibility(page);
  await page.screenshot({ path: plan.screenshot, fullPage: true });
  // Tab from the top until "Allow" has focus, then Enter.
  await page.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press("Tab");
    if ((await page.evaluate(() => document.activeElement.textContent.trim())) === "Allow") break;
  }
  await page.keyboard.press("Enter");
  const arrived = await waitFor(() => arrivals[0], "the client's callback");
  result.approve = Object.fromEntries(new URL(arrived).searchParams);
  await context.close();
}

// Deny, by click.
{
  const { context, page, arrivals } = await newPage();
  await page.goto(plan.deny);
  await page.getByRole("button", { name: "Deny" }).click();
  const arrived = await waitFor(() => arrivals[0], "the client's callback");
  result.deny = Object.fromEntries(new URL(arrived).searchParams);
  await context.close();
}

// The CSRF token removed from the form before approving.
{
  const { context, page, arrivals } = await newPage();
  await page.goto(plan.csrf);
  await page.waitForSelector("form button");
  await page.evaluate(() => document.querySelector('input[name="csrf"]').remove());
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name: "Allow" }).click(),
  ]);
  result.csrf = { status: response.status(), text: await page.textContent("main"), arrivals };
  await context.close();
}

// The consent page framed by another origin.
{
  const { context, page, framer } = await newPage();
  const messages = [];
  page.on("console", (message) => messages.push(message.text()));
  // Reach a live consent page first (this browser's own sign-in), then show it in a frame on
  // another origin of the same site, as a clickjacking page would.
  await page.goto(plan.framed);
  await page.waitForSelector("form button");
  framer.target = page.url();
  await page.goto(`${plan.clientOrigin}/framer`);
  await page.waitForTimeout(1500);
  const frame = page.frames().find((f) => f !== page.mainFrame());
  let frameText = "";
  try { frameText = (await frame?.textContent("body")) ?? ""; } catch { frameText = ""; }
  result.framed = { messages, frameText, frameUrl: frame?.url() ?? null };
  await context.close();
}

await browser.close();
console.log(JSON.stringify(result));
