// console.mjs - drives Debian's headless chromium (playwright-core) through
// the support console of a running tpcollect (integration 32).
//
//   node console.mjs API SUPPORT_TOKEN VIEWER_TOKEN CLAIM DEVICE ARTEFACT_DIR
//
// Prints one "key=value" line per observation; the shell script judges them
// (and checks the API behind them). Exits 1 only when the browser cannot be
// driven at all.
import { chromium } from "playwright-core";

const [api, supportToken, viewerToken, claim, device, artefacts] = process.argv.slice(2);
const out = (k, v) => console.log(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);

async function renders(page) {
	return page.evaluate(() => Number(document.body.dataset.renders || 0));
}
// Runs act, then waits until the console has finished one more render.
async function after(page, act) {
	const n = await renders(page);
	await act();
	await page.waitForFunction((m) => Number(document.body.dataset.renders || 0) > m &&
		document.body.dataset.ready === "1", n, { timeout: 20000 });
}
async function signIn(page, token) {
	await page.goto(api + "/");
	await page.waitForSelector("#signin:not([hidden])");
	await page.fill("#token", token);
	await after(page, () => page.press("#token", "Enter"));   // the keyboard, not a click
}
async function rowIds(page) {
	return page.$$eval("#q-rows tr", (trs) => trs.map((tr) => tr.dataset.claim));
}
async function filter(page, sel, value) {
	if (sel.startsWith("#f-model") || sel.startsWith("#f-q")) await page.fill(sel, value);
	else await page.selectOption(sel, value);
	await after(page, () => page.click("#filters button[type=submit]"));
	return rowIds(page);
}
async function labelsOf(page) {
	return page.evaluate(() => {
		const sel = "[data-t], dt, th, button, legend, label > span, #filters option, figcaption";
		return [...document.querySelectorAll(sel)]
			.filter((e) => !e.closest("#lang"))
			.map((e) => e.textContent.trim()).filter(Boolean);
	});
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
	args: ["--no-sandbox", "--disable-gpu"] });
try {
	/* support, English */
	const en = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 2400 } });
	const page = await en.newPage();
	const errors = [];
	page.on("pageerror", (e) => errors.push(e.message));
	page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
	page.on("request", (r) => { if (!r.url().startsWith(api)) errors.push("outside request " + r.url()); });
	await signIn(page, supportToken);
	out("role", await page.getAttribute("#who-role", "data-role"));
	out("queue_visible", await page.isVisible("#queue"));
	out("queue_rows", await rowIds(page));
	await page.screenshot({ path: `${artefacts}/queue.png`, fullPage: true });
	out("count_open", await page.textContent("#counts li[data-state=open] strong"));
	out("count_closed", await page.textContent("#counts li[data-state=closed] strong"));
	out("filter_category_power", await filter(page, "#f-category", "power"));
	out("filter_category_thermal", await filter(page, "#f-category", "thermal"));
	out("filter_state_closed", await filter(page, "#f-state", "closed"));
	await filter(page, "#f-state", "");
	out("filter_warranty_expired", await filter(page, "#f-warranty", "expired"));
	await filter(page, "#f-warranty", "");
	out("filter_q_device", await filter(page, "#f-q", device));
	out("filter_q_nothing", await filter(page, "#f-q", "no-such-words-here"));
	out("count_open_filtered", await page.textContent("#counts li[data-state=open] strong"));
	await after(page, () => page.click("#f-reset"));
	out("queue_rows_reset", await rowIds(page));

	/* the claim page */
	await after(page, () => page.click(`#q-rows a[href="#/claim/${claim}"]`));
	out("claim_visible", await page.isVisible("#claim"));
	await page.screenshot({ path: `${artefacts}/claim-page.png`, fullPage: true });
	out("claim_fields", await page.$$eval("#claim-fields dd", (d) => d.map((e) => e.dataset.field)));
	out("field_id", await page.textContent("dd[data-field=id]"));
	out("field_state", await page.getAttribute("dd[data-field=state]", "data-state"));
	out("field_device", await page.textContent("dd[data-field=device]"));
	out("field_warranty", await page.textContent("dd[data-field=warranty]"));
	out("field_purchase_date", await page.textContent("dd[data-field=purchase_date]"));
	out("description_len", (await page.textContent("#claim-description")).length);
	out("evidence_rows", await page.$$eval("#evidence tr", (r) => r.length));
	out("evidence_verified", await page.$$eval("#evidence td[data-verified=true]", (r) => r.length));
	out("selfcheck_steps", await page.$$eval("#selfcheck tr", (r) => r.length));
	out("selfcheck_fan_hint", await page.$eval("#selfcheck tr[data-step='fan.main'] td:last-child",
		(td) => td.textContent.length > 10));
	out("timeline_events", await page.$$eval("#timeline li", (l) => l.map((e) => e.dataset.event)));
	out("buttons_before", await page.$$eval("#transitions button", (b) => b.map((e) => e.dataset.to)));
	out("transition_elements", await page.$$eval("#transitions > *", (b) => b.map((e) => e.tagName)));
	/* keyboard: Tab reaches a control and its focus is visible */
	await page.focus("#claim-h a, #claim a[href='#/']");
	await page.keyboard.press("Tab");
	out("focus_outline", await page.evaluate(() => {
		const a = document.activeElement;
		return a && a !== document.body ? getComputedStyle(a).outlineStyle : "none";
	}));
	await after(page, () => page.click("#to-in_review"));
	out("moved_shown", await page.isVisible("#moved"));
	out("field_state_after", await page.getAttribute("dd[data-field=state]", "data-state"));
	out("buttons_after", await page.$$eval("#transitions button", (b) => b.map((e) => e.dataset.to)));
	await page.fill("#note-text", "Called the customer: fan noise confirmed.");
	await after(page, () => page.click("#note-form button[type=submit]"));
	out("notes", await page.$$eval("#notes li", (l) => l.map((e) => e.textContent)));

	/* the device page */
	await after(page, () => page.click("#claim-device-link"));
	out("device_visible", await page.isVisible("#device"));
	await page.waitForFunction(() => window.tpCharts && window.tpCharts.length === 3, null,
		{ timeout: 20000 });
	await page.screenshot({ path: `${artefacts}/device-page.png`, fullPage: true });
	await page.locator("#plot-temp").screenshot({ path: `${artefacts}/device-temperature.png` });
	out("charts", await page.evaluate(() => window.tpCharts.length));
	out("plot", await page.evaluate(() => {
		const r = {};
		for (const g of window.tpCharts) {
			const div = g.maindiv_;
			const name = div.id;
			const labels = g.getLabels();
			let drawn = 0, limitPx = 0, faultPx = 0;
			const canvases = [...div.querySelectorAll("canvas")];
			/* the limit line: a row of the limit's colour at its y */
			const limits = labels.slice(1).filter((l) => /\d$/.test(l) && !/ avg$| 平均$/.test(l));
			const top = limits.length ? Number(limits[limits.length - 1].split(" ").pop()) : NaN;
			for (const c of canvases) {
				const ctx = c.getContext("2d");
				const px = ctx.getImageData(0, 0, c.width, c.height).data;
				for (let i = 3; i < px.length; i += 4) if (px[i] > 0) drawn++;
				const scale = c.width / c.clientWidth || 1;
				if (isFinite(top)) {
					const y = Math.round(g.toDomYCoord(top) * scale);
					for (let dy = -2; dy <= 2; dy++) {
						const row = ctx.getImageData(0, y + dy, c.width, 1).data;
						for (let i = 0; i < row.length; i += 4)
							if (row[i + 3] > 100 && row[i] > 150 && row[i + 1] < 120 && row[i + 2] < 120) limitPx++;
					}
				}
				const area = g.getArea();
				const ymid = Math.round((area.y + area.h / 2) * scale);
				const row = ctx.getImageData(0, ymid, c.width, 1).data;
				for (let i = 0; i < row.length; i += 4)
					if (row[i + 3] > 100 && row[i] > 150 && row[i + 1] < 120 && row[i + 2] < 120) faultPx++;
			}
			r[name] = { rows: g.numRows(), labels, drawn, limitPx, faultPx };
		}
		return r;
	}));
	out("device_claims", await page.$$eval("#d-claims tr", (r) => r.length));
	out("device_faults", await page.$$eval("#d-faults li", (r) => r.length));

	/* the language switch */
	await after(page, () => page.selectOption("#lang", "zh-CN"));
	out("switch_title", await page.textContent("h1"));
	const enWords = await page.evaluate(() => Object.values(tpI18n.words.en));
	const missing = await page.evaluate(() => Object.keys(tpI18n.words.en)
		.filter((k) => !(k in tpI18n.words["zh-CN"])));
	out("zh_missing_keys", missing);
	out("errors", errors.slice(0, 5).map((e) => e.slice(0, 300)));
	await en.close();

	/* a viewer */
	const vc = await browser.newContext({ locale: "en-US" });
	const vp = await vc.newPage();
	await signIn(vp, viewerToken);
	out("viewer_role", await vp.getAttribute("#who-role", "data-role"));
	out("viewer_rows", await rowIds(vp));
	await after(vp, () => vp.click(`#q-rows a[href="#/claim/${claim}"]`));
	out("viewer_claim_visible", await vp.isVisible("#claim"));
	out("viewer_buttons", await vp.$$eval("#transitions button", (b) => b.length));
	out("viewer_readonly_shown", await vp.isVisible("#read-only"));
	out("viewer_note_form", await vp.isVisible("#note-form"));
	await vc.close();

	/* Simplified Chinese from the browser's language */
	const zc = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 2400 } });
	const zp = await zc.newPage();
	await signIn(zp, supportToken);
	out("zh_lang", await zp.evaluate(() => document.documentElement.lang));
	const english = new Set(enWords);
	const leftovers = new Set();
	const seen = [];
	for (const hash of ["#/", `#/claim/${claim}`, `#/device/${device}`]) {
		await after(zp, () => zp.evaluate((h) => { location.hash = h; }, hash));
		for (const s of await labelsOf(zp)) {
			seen.push(s);
			if (english.has(s) || /[A-Za-z]{3,}/.test(s.replace(/[A-Za-z0-9_.-]*\.[a-z_]+|[A-Z]-\d+/g, "")))
				leftovers.add(s);
		}
	}
	await zp.screenshot({ path: `${artefacts}/device-page-zh.png`, fullPage: true });
	out("zh_labels_seen", seen.length);
	out("zh_english_left", [...leftovers]);
	await zc.close();
} finally {
	await browser.close();
}
