// Load an HTML report in headless Chromium and print, as JSON, what a reader would see: each
// figure's rendered box and the boxes of its text, every request the page made (any request
// other than the page itself is refused), console errors and CSP violations; save a screenshot.
//
//   node render_report.mjs TOOLS REPORT.html SCREENSHOT.png
//
// TOOLS is the folder scripts/install-browser printed (@sparticuz/chromium and puppeteer-core).
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [tools, report, screenshot] = process.argv.slice(2);
const requireFromTools = createRequire(join(tools, "package.json"));
const load = async (name) => (await import(pathToFileURL(requireFromTools.resolve(name)).href)).default;
const chromium = await load("@sparticuz/chromium");
const puppeteer = await load("puppeteer-core");

const page_url = pathToFileURL(resolve(report)).href;
const browser = await puppeteer.launch({
  executablePath: await chromium.executablePath(),
  headless: true,
  // root needs --no-sandbox (in chromium.args); the rest keeps Chromium from calling home.
  args: [...chromium.args, "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-sync", "--no-first-run", "--metrics-recording-only"],
});
try {
  const page = await browser.newPage();
  const requests = [];
  const errors = [];
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    requests.push(request.url());
    if (request.url() === page_url) request.continue();
    else request.abort("blockedbyclient");
  });
  page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  await page.setViewport({ width: 1100, height: 900, deviceScaleFactor: 1 });
  await page.goto(page_url, { waitUntil: "load" });
  const seen = await page.evaluate(() => {
    const box = (element) => {
      const rect = element.getBoundingClientRect();
      return { width: rect.width, height: rect.height };
    };
    return {
      title: document.title,
      header: document.querySelector("header")?.innerText ?? "",
      figures: [...document.querySelectorAll("figure.feature")].map((figure) => {
        const svg = figure.querySelector("svg");
        return {
          feature: figure.dataset.feature,
          kind: figure.dataset.kind,
          caption: figure.querySelector("figcaption")?.innerText ?? "",
          box: box(svg),
          drawn: svg ? { width: svg.getBBox().width, height: svg.getBBox().height } : null,
          marks: svg ? svg.querySelectorAll("rect, polyline, line.gap").length : 0,
          texts: svg ? [...svg.querySelectorAll("text")].map((text) => ({
            text: text.textContent, ...box(text) })) : [],
        };
      }),
      rows: [...document.querySelectorAll("table tbody tr")].map((row) => row.innerText),
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...seen, requests, errors, browser: await browser.version() }));
} finally {
  await browser.close();
}
