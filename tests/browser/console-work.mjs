// console-work.mjs - the console's work on a claim and the forecast drawn
// on a device page (integration 32, after console.mjs):
//
//   node console-work.mjs API SUPPORT_TOKEN CLAIM FORECAST_DEVICE ARTEFACT_DIR
//
// Support assigns CLAIM to itself and records a resolution through the
// claim page's forms; FORECAST_DEVICE's page draws its predictive claim's
// trend and ETA band; a zh-CN browser reads the claim's Chinese text.
// Prints "key=value" lines for the shell script to judge.
import { chromium } from "playwright-core";

const [api, token, claim, device, artefacts] = process.argv.slice(2);
const out = (k, v) => console.log(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);

async function after(page, act) {
	const n = await page.evaluate(() => Number(document.body.dataset.renders || 0));
	await act();
	await page.waitForFunction((m) => Number(document.body.dataset.renders || 0) > m &&
		document.body.dataset.ready === "1", n, { timeout: 20000 });
}
async function signIn(page) {
	await page.goto(api + "/");
	await page.waitForSelector("#signin:not([hidden])");
	await page.fill("#token", token);
	await after(page, () => page.press("#token", "Enter"));
}
async function go(page, hash) {
	await after(page, () => page.evaluate((h) => { location.hash = h; }, hash));
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
	args: ["--no-sandbox", "--disable-gpu"] });
try {
	const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 2400 } });
	const page = await ctx.newPage();
	const errors = [];
	page.on("pageerror", (e) => errors.push(e.message));
	page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
	await signIn(page);
	await go(page, `#/claim/${claim}`);
	out("assign_form", await page.isVisible("#assign-form"));
	out("resolution_form", await page.isVisible("#resolution-form"));
	await after(page, () => page.click("#assign-me"));
	out("assignee_shown", await page.textContent("dd[data-field=assignee]"));
	await page.fill("#res-summary", "Replaced the fan; it turns at 3100 rpm under load.");
	await page.fill("#res-parts", "FAN-4010-12V, thermal pad");
	await after(page, () => page.click("#resolution-form button[type=submit]"));
	out("resolution_shown", await page.textContent("dd[data-field=resolution]"));
	out("timeline_after", await page.$$eval("#timeline li", (l) => l.map((e) => e.dataset.event)));
	await page.screenshot({ path: `${artefacts}/claim-worked.png`, fullPage: true });

	await go(page, `#/device/${device}`);
	await page.waitForFunction(() => window.tpCharts && window.tpCharts.length === 3, null,
		{ timeout: 20000 });
	out("forecast_text_shown", await page.isVisible("#d-forecast"));
	out("forecast_text", await page.textContent("#d-forecast-text"));
	out("forecast", await page.evaluate(() => {
		const r = {};
		for (const g of window.tpCharts) {
			const div = g.maindiv_;
			if (!div.dataset.forecast) continue;
			/* amber of the band (191,135,0 at 0.18 alpha over white) in the
			 * band's columns at mid-height, and the dotted trend's colour */
			const [l, rr] = (div.dataset.band || "0-0").split("-").map(Number);
			let band = 0, trend = 0;
			for (const c of div.querySelectorAll("canvas")) {
				const ctx2 = c.getContext("2d");
				const scale = c.width / c.clientWidth || 1;
				const area = g.getArea();
				const y = Math.round((area.y + area.h * 0.1) * scale);
				const row = ctx2.getImageData(0, y, c.width, 1).data;
				for (let x = Math.round(l * scale); x < Math.round(rr * scale); x++) {
					const i = 4 * x;
					if (row[i + 3] > 20 && row[i] > row[i + 2] + 20 && row[i + 1] > row[i + 2]) band++;
				}
				const px = ctx2.getImageData(0, 0, c.width, c.height).data;
				for (let i = 0; i < px.length; i += 4)
					if (px[i + 3] > 200 && px[i] > 170 && px[i + 1] > 110 && px[i + 1] < 160 && px[i + 2] < 40) trend++;
			}
			const range = g.xAxisRange();
			r[div.id] = { sensor: div.dataset.forecast, band: [l, rr], bandPx: band, trendPx: trend,
				xEnd: range[1] / 1000 };
		}
		return r;
	}));
	await page.locator("#plot-fan").screenshot({ path: `${artefacts}/device-forecast.png` });
	out("errors", errors.slice(0, 5).map((e) => e.slice(0, 300)));
	await ctx.close();

	const zc = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 2400 } });
	const zp = await zc.newPage();
	await signIn(zp);
	await go(zp, `#/claim/${claim}`);
	out("zh_title", await zp.textContent("#claim-title"));
	out("zh_description_start", (await zp.textContent("#claim-description")).slice(0, 13));
	out("zh_locale_field", await zp.textContent("dd[data-field=locale]"));
	await zc.close();
} finally {
	await browser.close();
}
