/* console.js - the support console: sign-in, claims queue, claim page,
 * device page. Plain script, no build step; it talks to the same JSON API
 * as tpclaim (README "HTTP API") with the bearer token kept in this tab's
 * sessionStorage. Routes are the address's hash: #/ the queue,
 * #/claim/C-000123, #/device/TP24A0001. Everything from the API is put in
 * with textContent, never as HTML. Charts are Debian's dygraphs, served by
 * tpcollect under /lib/dygraphs/. */
"use strict";
(() => {
	const t = (k) => tpI18n.t(k);
	const $ = (id) => document.getElementById(id);
	const STATES = ["open", "in_review", "approved", "rejected", "remote_guidance",
		"repair_scheduled", "replacement", "resolved", "closed"];
	const CATEGORIES = ["power", "thermal", "sensor", "system"];
	const WARRANTIES = ["in_warranty", "expired", "excluded", "unknown"];
	const SECTIONS = ["signin", "queue", "claim", "device"];
	let me = null;          /* {name, role} from /api/v1/whoami */
	const charts = [];      /* the device page's Dygraphs (window.tpCharts for tests) */
	window.tpCharts = charts;

	function el(tag, text, attrs) {
		const e = document.createElement(tag);
		if (text !== undefined && text !== null) e.textContent = String(text);
		for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
		return e;
	}
	function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
	function label(prefix, v) {
		if (v === null || v === undefined || v === "") return t("v.none");
		const k = prefix + "." + v;
		const s = t(k);
		return s === k ? String(v) : s;
	}
	function when(v) {
		if (v === null || v === undefined) return t("v.none");
		return tpI18n.time(typeof v === "number" ? new Date(v * 1000).toISOString() : v);
	}
	/* The claim's title and description in the page's language when the
	 * collector wrote them in it (both are kept), else the claim's own. */
	function text(c) {
		const x = c.text && c.text[tpI18n.lang];
		return x && x.title ? x : { title: c.title, description: c.description };
	}
	function showError(msg) {
		const e = $("error");
		e.textContent = msg ? t("c.error") + " " + msg : "";
		e.hidden = !msg;
	}
	function show(which) {
		for (const s of SECTIONS) $(s).hidden = s !== which;
		$("nav").hidden = which === "signin";
		$("who").hidden = which === "signin";
	}

	/* A render has finished (tests wait for the count to move). */
	function rendered() {
		document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
		document.body.dataset.ready = "1";
	}

	class ApiError extends Error {
		constructor(status, msg) { super(msg); this.status = status; }
	}
	async function api(path, opts) {
		const o = opts || {};
		const headers = { "Authorization": "Bearer " + (sessionStorage.getItem("tp-token") || "") };
		if (o.body !== undefined) headers["Content-Type"] = "application/json";
		const r = await fetch(path, { method: o.method || "GET", headers,
			body: o.body === undefined ? undefined : JSON.stringify(o.body) });
		let j = null;
		try { j = await r.json(); } catch (e) { j = null; }
		if (!r.ok) throw new ApiError(r.status, (j && j.error) || r.statusText);
		return j;
	}

	/* Sign-in ----------------------------------------------------------------- */

	async function signIn(token) {
		sessionStorage.setItem("tp-token", token);
		try {
			me = await api("/api/v1/whoami");
		} catch (e) {
			sessionStorage.removeItem("tp-token");
			me = null;
			throw e;
		}
		$("who-name").textContent = me.name || "-";
		$("who-role").dataset.role = me.role;
		$("who-role").textContent = label("role", me.role);
	}
	function signOut() {
		sessionStorage.removeItem("tp-token");
		me = null;
		location.hash = "#/";
		route();
	}

	/* Queue --------------------------------------------------------------------- */

	function fillSelect(sel, values, prefix, withAny) {
		const keep = sel.value;
		clear(sel);
		if (withAny) sel.appendChild(el("option", t("q.any"), { value: "" }));
		for (const v of values) sel.appendChild(el("option", label(prefix, v), { value: v }));
		sel.value = keep;
	}
	function fillFilters() {
		fillSelect($("f-state"), STATES, "s", true);
		fillSelect($("f-category"), CATEGORIES, "cat", true);
		fillSelect($("f-warranty"), WARRANTIES, "w", true);
		fillSelect($("f-predictive"), ["true", "false"], "bool", true);
		fillSelect($("f-overdue"), ["true", "false"], "bool", true);
		for (const id of ["f-predictive", "f-overdue"])
			for (const o of $(id).options)
				if (o.value) o.textContent = t(o.value === "true" ? "q.yes" : "q.no");
	}
	/* The filters as API query parameters (names as in GET /api/v1/claims). */
	function filterParams(withState) {
		const p = new URLSearchParams();
		for (const id of ["state", "category", "warranty", "predictive", "overdue", "model",
			"assignee", "q"]) {
			if (id === "state" && !withState) continue;
			const v = $("f-" + id).value.trim();
			if (v) p.set(id, v);
		}
		return p;
	}
	async function renderQueue() {
		show("queue");
		fillFilters();
		const p = filterParams(true);
		p.set("sort", "review_due");
		p.set("limit", "1000");
		const list = await api("/api/v1/claims?" + p);
		const rows = $("q-rows");
		clear(rows);
		for (const c of list.claims) {
			const tr = el("tr", null, { "data-claim": c.id });
			const a = el("a", c.id, { href: "#/claim/" + c.id });
			const td = el("td");
			td.appendChild(a);
			tr.appendChild(td);
			tr.appendChild(el("td", label("s", c.state), { "data-state": c.state }));
			tr.appendChild(el("td", label("p", c.priority)));
			const dtd = el("td");
			dtd.appendChild(el("a", c.device, { href: "#/device/" + c.device }));
			tr.appendChild(dtd);
			tr.appendChild(el("td", c.model));
			tr.appendChild(el("td", label("cat", c.category)));
			tr.appendChild(el("td", label("w", c.warranty && c.warranty.status)));
			tr.appendChild(el("td", dueText(c)));
			tr.appendChild(el("td", c.assignee || t("v.none"), { "data-assignee": c.assignee || "" }));
			tr.appendChild(el("td", (c.predictive ? "~ " : "") + (text(c).title || "")));
			rows.appendChild(tr);
		}
		$("q-count").textContent = list.count;
		$("q-total").textContent = list.total;
		$("q-none").hidden = list.count !== 0;
		/* counts per state under the same filters, state aside */
		const base = filterParams(false);
		base.set("limit", "1");
		const totals = await Promise.all(STATES.map((s) => {
			const q = new URLSearchParams(base);
			q.set("state", s);
			return api("/api/v1/claims?" + q).then((j) => j.total);
		}));
		const ul = $("counts");
		clear(ul);
		STATES.forEach((s, i) => {
			const li = el("li", null, { "data-state": s });
			li.appendChild(el("span", label("s", s)));
			li.appendChild(el("strong", totals[i]));
			ul.appendChild(li);
		});
	}
	/* The due time with what is left: in working hours of the claim's
	 * region when the collector counted them (review_clock "working"). */
	function dueText(c) {
		if (!c.review_due) return t("v.none");
		const open = c.state === "open" || c.state === "in_review";
		const working = c.review_clock === "working" && typeof c.review_left_s === "number";
		const left = working ? c.review_left_s / 3600 : (Date.parse(c.review_due) - Date.now()) / 3600e3;
		let s = when(c.review_due);
		if (open && isFinite(left)) {
			const k = working ? (left >= 0 ? "v.working_left" : "v.working_overdue")
				: (left >= 0 ? "v.left" : "v.overdue");
			s += " (" + t(k).replace("{n}", Math.abs(left).toFixed(working ? 1 : 0)) + ")";
		}
		return s;
	}

	/* Claim page ------------------------------------------------------------------ */

	function b64urlJson(part) {
		const b = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4));
		const bytes = Uint8Array.from(b, (ch) => ch.charCodeAt(0));
		return JSON.parse(new TextDecoder().decode(bytes));
	}
	function field(dl, key, value, attrs) {
		dl.appendChild(el("dt", t("f." + key)));
		const dd = el("dd", null, Object.assign({ "data-field": key }, attrs || {}));
		if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
		dl.appendChild(dd);
	}
	async function renderClaim(id) {
		show("claim");
		$("moved").hidden = true;
		const c = await api("/api/v1/claims/" + encodeURIComponent(id));
		let ev = null;
		try { ev = await api("/api/v1/claims/" + encodeURIComponent(id) + "/evidence"); } catch (e) { ev = null; }
		drawClaim(c, ev);
	}
	function drawClaim(c, ev) {
		$("claim-id").textContent = c.id;
		$("claim-title").textContent = text(c).title || "";
		const dl = $("claim-fields");
		clear(dl);
		const w = c.warranty || {};
		const dev = el("a", c.device, { href: "#/device/" + c.device });
		field(dl, "id", c.id);
		field(dl, "state", label("s", c.state), { "data-state": c.state });
		field(dl, "priority", label("p", c.priority));
		field(dl, "device", dev);
		field(dl, "model", c.model);
		field(dl, "category", label("cat", c.category));
		field(dl, "fault_codes", (c.fault_codes || []).join(", "));
		field(dl, "predictive", t(c.predictive ? "v.yes" : "v.no"));
		field(dl, "detected_ts", when(c.detected_ts));
		field(dl, "opened_at", when(c.opened_at));
		field(dl, "updated_at", when(c.updated_at));
		field(dl, "purchase_date", c.purchase_date || t("v.none"));
		field(dl, "warranty", label("w", w.status));
		field(dl, "warranty_until", w.until || t("v.none"));
		field(dl, "warranty_policy", w.policy || t("v.none"));
		field(dl, "selfcheck_verdict", label("vd", c.selfcheck_verdict));
		field(dl, "suggested_resolution", label("res", c.suggested_resolution));
		field(dl, "review_due", dueText(c));
		field(dl, "assignee", c.assignee || t("v.none"));
		const r = c.resolution;
		field(dl, "resolution", r ? r.summary + " (" + when(r.at) + ", " + t("res.by") + " " +
			(r.by || "") + ((r.parts || []).length ? "; " + t("res.parts") + " " + r.parts.join(", ")
				: "") + ")" : t("v.none"));
		field(dl, "locale", label("lang", c.locale || "en"));
		field(dl, "region", c.region || t("v.none"));
		field(dl, "origin", label("o", c.origin || "device"));
		field(dl, "contact", c.contact || t("v.none"));
		field(dl, "channel", c.channel || t("v.none"));
		field(dl, "tracking_url", c.tracking_url || t("v.none"));
		field(dl, "chain", t(c.chain_broken ? "v.chain_broken" : "v.chain_ok"));
		field(dl, "feedback", c.feedback ? c.feedback.rating + "/5 " + (c.feedback.comment || "")
			: t("v.none"));
		$("claim-device-link").href = "#/device/" + c.device;
		$("claim-description").textContent = text(c).description || "";

		const tb = $("evidence");
		clear(tb);
		for (const e of c.evidence || []) {
			const tr = el("tr");
			tr.appendChild(el("td", e.seq));
			tr.appendChild(el("td", e.kind));
			tr.appendChild(el("td", when(e.ts)));
			tr.appendChild(el("td", e.code || ""));
			tr.appendChild(el("td", e.state ? label("ev", e.state) : ""));
			tr.appendChild(el("td", t(e.verified ? "ev.ok" : "ev.bad"), { "data-verified": String(!!e.verified) }));
			tr.appendChild(el("td", e.chain === "ok" ? t("v.chain_ok") : label("v", "chain_broken"),
				{ "data-chain": e.chain || "" }));
			tb.appendChild(tr);
		}

		/* the self-check the device attached to its first fault (signed) */
		let sc = null;
		for (const e of (ev && ev.evidence) || []) {
			if (!e.jws) continue;
			try {
				const body = b64urlJson(e.jws.split(".")[1]);
				if (body.selfcheck && Array.isArray(body.selfcheck.steps)) { sc = body.selfcheck; break; }
				if (Array.isArray(body.steps)) { sc = body; break; }
			} catch (x) { /* not a JWS we can read: shown as evidence only */ }
		}
		const st = $("selfcheck");
		clear(st);
		$("sc-none").hidden = !!sc;
		$("sc-table").hidden = !sc;
		for (const s of (sc && sc.steps) || []) {
			const tr = el("tr", null, { "data-step": s.id });
			tr.appendChild(el("td", s.id));
			tr.appendChild(el("td", label("sc", s.result)));
			tr.appendChild(el("td", s.detail || ""));
			tr.appendChild(el("td", (tpI18n.lang === "zh-CN" ? s.hint_zh || s.hint : s.hint) || ""));
			st.appendChild(tr);
		}

		const tl = $("timeline");
		clear(tl);
		const notes = $("notes");
		clear(notes);
		for (const e of c.timeline || []) {
			const li = el("li", null, { "data-event": e.event });
			li.appendChild(el("time", when(e.at), { datetime: e.at }));
			li.appendChild(el("strong", label(STATES.includes(e.event) ? "s" : "tl", e.event)));
			li.appendChild(el("span", " · " + t("tl.by") + " " + (e.by || "")));
			if (e.note) li.appendChild(el("q", e.note));
			tl.appendChild(li);
			if (e.event === "note") {
				const n = el("li");
				n.appendChild(el("time", when(e.at), { datetime: e.at }));
				n.appendChild(el("span", (e.by || "") + ": "));
				n.appendChild(el("span", e.note || ""));
				notes.appendChild(n);
			}
		}
		$("no-notes").hidden = notes.children.length !== 0;

		/* Only what the API says this caller may do now (api.c note 8). */
		const box = $("transitions");
		clear(box);
		const support = me && me.role === "support";
		const next = support ? c.transitions || [] : [];
		for (const to of next) {
			const b = el("button", label("s", to), { type: "button", "data-to": to, id: "to-" + to });
			b.addEventListener("click", () => move(c.id, to));
			box.appendChild(b);
		}
		$("read-only").hidden = support;
		$("no-actions").hidden = !support || next.length !== 0;
		$("note-form").hidden = !support;
		$("note-form").dataset.claim = c.id;
		$("assign-form").hidden = !support;
		$("assign-form").dataset.claim = c.id;
		$("assign-name").value = c.assignee || "";
		$("resolution-form").hidden = !support;
		$("resolution-form").dataset.claim = c.id;
	}
	/* POSTs body to the claim's action and draws the claim again. */
	async function claimAction(form, action, body) {
		const id = $(form).dataset.claim;
		try {
			showError("");
			await api("/api/v1/claims/" + encodeURIComponent(id) + "/" + action,
				{ method: "POST", body });
			await renderClaim(id);
			return true;
		} catch (e) {
			showError(e.message);
			return false;
		} finally {
			rendered();
		}
	}
	function assign(ev, name) {
		ev.preventDefault();
		const v = name !== undefined ? name : $("assign-name").value.trim();
		return claimAction("assign-form", "assign", { assignee: v || null });
	}
	async function resolve(ev) {
		ev.preventDefault();
		const summary = $("res-summary").value.trim();
		if (!summary) return;
		const parts = $("res-parts").value.split(",").map((p) => p.trim()).filter((p) => p);
		const at = $("res-at").value;   /* local time, as the browser shows it */
		const body = { summary, parts };
		if (at) body.at = new Date(at).toISOString().replace(/\.\d+Z$/, "Z");
		if (await claimAction("resolution-form", "resolution", body)) {
			$("res-summary").value = "";
			$("res-parts").value = "";
			$("res-at").value = "";
		}
	}
	async function move(id, to) {
		try {
			showError("");
			for (const b of $("transitions").querySelectorAll("button")) b.disabled = true;
			await api("/api/v1/claims/" + encodeURIComponent(id) + "/transition",
				{ method: "POST", body: { to } });
			await renderClaim(id);
			$("moved").hidden = false;
			const first = $("transitions").querySelector("button");
			(first || $("claim-h")).focus();
		} catch (e) {
			showError(e.message);
			await renderClaim(id).catch(() => {});
		}
		rendered();
	}
	async function addNote(ev) {
		ev.preventDefault();
		const id = $("note-form").dataset.claim, text = $("note-text").value.trim();
		if (!text) return;
		try {
			showError("");
			await api("/api/v1/claims/" + encodeURIComponent(id) + "/notes",
				{ method: "POST", body: { note: text } });
			$("note-text").value = "";
			await renderClaim(id);
		} catch (e) { showError(e.message); }
		rendered();
	}

	/* Device page -------------------------------------------------------------- */

	async function telemetry(id) {
		let rows = [], after = null;
		for (let page = 0; page < 20; page++) {
			const p = new URLSearchParams({ limit: "5000" });
			if (after !== null) p.set("after", String(after));
			const j = await api("/api/v1/devices/" + encodeURIComponent(id) + "/telemetry?" + p);
			rows = rows.concat(j.telemetry);
			if (j.next === null || j.next === undefined) break;
			after = j.next;
		}
		return rows;
	}
	/* One chart: each sensor's average, and each limit as a dashed flat line. */
	function chart(div, rows, sensors, limitKeys, faults, forecast) {
		const colors = { warn: "#bf8700", crit: "#d1242f", min: "#d1242f", max: "#d1242f",
			stall_rpm: "#d1242f" };
		const labels = [t("t.time")], series = {}, lines = [], plotColors = [];
		const palette = ["#0969da", "#1a7f37", "#8250df", "#57606a"];
		sensors.forEach((s, i) => {
			labels.push(s.id + " " + t("lim.avg"));
			plotColors.push(palette[i % palette.length]);
		});
		for (const s of sensors)
			for (const k of limitKeys)
				if (typeof s[k] === "number") {
					const name = s.id + " " + t("lim." + k) + " " + s[k];
					labels.push(name);
					lines.push(s[k]);
					plotColors.push(colors[k]);
					series[name] = { strokePattern: [6, 4], strokeWidth: 1.5, drawPoints: false };
				}
		const data = [];
		for (const r of rows) {
			const row = [new Date(r.ts * 1000)];
			for (const s of sensors) {
				const v = r.sensors && r.sensors[s.id];
				row.push(v && typeof v.avg === "number" ? v.avg : null);
			}
			for (const v of lines) row.push(v);
			data.push(row);
		}
		/* a forecast on one of these sensors: the time axis runs on to the
		 * band's late end (or 1.5 x the ETA), the limits drawn out to it */
		const fc = forecast && sensors.some((s) => s.id === forecast.sensor) &&
			typeof forecast.eta_s === "number" ? forecast : null;
		if (fc && data.length) {
			const horizon = typeof fc.eta_late_s === "number" ? fc.eta_late_s : 1.5 * fc.eta_s;
			const end = Math.max(fc.ts + horizon, fc.ts + fc.eta_s) * 1000 * 1.0 + 3600e3;
			const row = [new Date(end)];
			for (let i = 0; i < sensors.length; i++) row.push(null);
			for (const v of lines) row.push(v);
			data.push(row);
		}
		clear(div);
		if (!data.length || typeof Dygraph === "undefined") return null;
		const g = new Dygraph(div, data, {
			labels, colors: plotColors, series, connectSeparatedPoints: false, legend: "always",
			labelsDiv: document.getElementById(div.id + "-legend"), labelsSeparateLines: false,
			height: 260, animatedZooms: false,
			axes: { x: {   /* dates in the page's language, not dygraphs' English */
				axisLabelFormatter: (d, gran) => d.toLocaleString(tpI18n.lang,
					gran >= Dygraph.DAILY || (d.getHours() === 0 && d.getMinutes() === 0)
						? { month: "short", day: "numeric" }
						: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
				valueFormatter: (ms) => when(ms / 1000),
			} },
			underlayCallback: (ctx, area, graph) => {
				ctx.save();
				ctx.fillStyle = "rgba(209, 36, 47, 0.8)";
				for (const f of faults) {
					if (f.state !== "raised") continue;
					const x = graph.toDomXCoord(new Date(f.ts * 1000));
					if (x >= area.x && x <= area.x + area.w) ctx.fillRect(x - 1, area.y, 2, area.h);
				}
				if (fc) drawForecast(ctx, area, graph, fc);
				ctx.restore();
			},
		});
		div.dataset.series = String(sensors.length);
		div.dataset.limits = String(lines.length);
		div.dataset.forecast = fc ? fc.sensor : "";
		return g;
	}
	/* The ETA band (early..late, open to the right when the late end is
	 * never) shaded, and the trend from the forecast's reading to the limit
	 * at the ETA as a dotted line. */
	function drawForecast(ctx, area, graph, fc) {
		const x = (s) => graph.toDomXCoord(new Date((fc.ts + s) * 1000));
		const x0 = typeof fc.eta_early_s === "number" ? x(fc.eta_early_s) : x(fc.eta_s);
		const x1 = typeof fc.eta_late_s === "number" ? x(fc.eta_late_s) : area.x + area.w;
		const left = Math.max(area.x, Math.min(x0, x1)), right = Math.min(area.x + area.w, Math.max(x0, x1));
		ctx.fillStyle = "rgba(191, 135, 0, 0.18)";
		if (right > left) ctx.fillRect(left, area.y, right - left, area.h);
		const [ax, ay] = graph.toDomCoords(new Date(fc.ts * 1000), fc.value);
		const [bx, by] = graph.toDomCoords(new Date((fc.ts + fc.eta_s) * 1000), fc.limit);
		ctx.strokeStyle = "#bf8700";
		ctx.lineWidth = 2;
		ctx.setLineDash([2, 3]);
		ctx.beginPath();
		ctx.moveTo(ax, ay);
		ctx.lineTo(bx, by);
		ctx.stroke();
		ctx.setLineDash([]);
		graph.maindiv_.dataset.band = Math.round(left) + "-" + Math.round(right);
	}
	async function renderDevice(id) {
		show("device");
		while (charts.length) charts.pop().destroy();
		$("device-id").textContent = id;
		const d = await api("/api/v1/devices/" + encodeURIComponent(id));
		const [model, rows, claims] = await Promise.all([
			api("/api/v1/models/" + encodeURIComponent(d.model)).catch(() => ({ sensors: [] })),
			telemetry(id),
			api("/api/v1/claims?" + new URLSearchParams({ device: id, limit: "1000" })),
		]);
		const dl = $("device-fields");
		clear(dl);
		const add = (k, v) => { dl.appendChild(el("dt", t(k))); dl.appendChild(el("dd", v)); };
		add("f.model", d.model + (model.name ? " (" + model.name + ")" : ""));
		add("d.fw", d.fw || t("v.none"));
		add("d.status", label("d", d.state));
		add("d.last_seen", when(d.last_seen));
		add("f.purchase_date", d.purchase_date || t("v.none"));
		add("d.registered", t(d.registered ? "v.yes" : "v.no"));
		add("d.owner", d.owner_contact || t("v.none"));

		const faults = [];
		for (const c of claims.claims)
			for (const e of c.evidence || [])
				if (e.kind === "fault") faults.push(Object.assign({ claim: c.id }, e));
		faults.sort((a, b) => a.ts - b.ts);
		const sensors = model.sensors || [];
		const pick = (re) => sensors.filter((s) => re.test(s.id));
		$("d-nodata").hidden = rows.length !== 0;
		const defs = [
			["plot-temp", pick(/^temp\./), ["warn", "crit"]],
			["plot-fan", pick(/^fan\./), ["stall_rpm"]],
			["plot-vin", pick(/^volt\./), ["min", "max"]],
		];
		/* the newest open predictive claim's forecast (claims.c) */
		const fcClaim = claims.claims.filter((c) => c.forecast &&
			!["resolved", "closed", "rejected"].includes(c.state)).pop();
		const fc = fcClaim ? fcClaim.forecast : null;
		$("d-forecast").hidden = !fc;
		if (fc) {
			const at = (s) => typeof s === "number" ? when(fc.ts + s) : t("fc.never");
			$("d-forecast-text").textContent = t("fc.text").replace("{sensor}", fc.sensor)
				.replace("{limit}", fc.limit).replace("{eta}", at(fc.eta_s))
				.replace("{early}", at(fc.eta_early_s)).replace("{late}", at(fc.eta_late_s));
		}
		for (const [div, ss, keys] of defs) {
			const g = chart($(div), rows, ss, keys, faults, fc);
			if (g) charts.push(g);
		}
		const fl = $("d-faults");
		clear(fl);
		for (const f of faults) {
			const li = el("li", null, { "data-code": f.code || "" });
			li.appendChild(el("time", when(f.ts)));
			li.appendChild(el("span", " " + (f.code || "") + " · " + label("ev", f.state) + " · "));
			li.appendChild(el("a", f.claim, { href: "#/claim/" + f.claim }));
			fl.appendChild(li);
		}
		$("d-nofaults").hidden = faults.length !== 0;
		const tb = $("d-claims");
		clear(tb);
		for (const c of claims.claims) {
			const tr = el("tr");
			const td = el("td");
			td.appendChild(el("a", c.id, { href: "#/claim/" + c.id }));
			tr.appendChild(td);
			tr.appendChild(el("td", label("s", c.state)));
			tr.appendChild(el("td", label("cat", c.category)));
			tr.appendChild(el("td", when(c.opened_at)));
			tr.appendChild(el("td", text(c).title || ""));
			tb.appendChild(tr);
		}
		$("d-noclaims").hidden = claims.claims.length !== 0;
	}

	/* Routing ------------------------------------------------------------------ */

	async function route() {
		tpI18n.apply();
		document.title = t("c.title");
		showError("");
		document.body.dataset.ready = "0";
		try {
			if (!sessionStorage.getItem("tp-token")) {
				show("signin");
				$("token").focus();
				return;
			}
			if (!me) await signIn(sessionStorage.getItem("tp-token"));
			$("who-role").textContent = label("role", me.role);
			const h = location.hash.replace(/^#\/?/, "").split("/");
			if (h[0] === "claim" && h[1]) await renderClaim(decodeURIComponent(h[1]));
			else if (h[0] === "device" && h[1]) await renderDevice(decodeURIComponent(h[1]));
			else await renderQueue();
		} catch (e) {
			if (e.status === 401) {
				sessionStorage.removeItem("tp-token");
				me = null;
				show("signin");
				showError(t("c.badtoken"));
			} else {
				showError(e.message);
			}
		} finally {
			rendered();
		}
	}

	document.addEventListener("DOMContentLoaded", () => {
		$("signin-form").addEventListener("submit", async (ev) => {
			ev.preventDefault();
			try {
				await signIn($("token").value.trim());
				$("token").value = "";
				await route();
			} catch (e) {
				show("signin");
				showError(e.status === 401 ? t("c.badtoken") : e.message);
			}
		});
		$("signout").addEventListener("click", signOut);
		$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); route(); });
		$("f-reset").addEventListener("click", () => {
			for (const id of ["state", "category", "warranty", "predictive", "overdue", "model",
				"assignee", "q"])
				$("f-" + id).value = "";
			route();
		});
		$("note-form").addEventListener("submit", addNote);
		$("assign-form").addEventListener("submit", (ev) => assign(ev));
		$("assign-me").addEventListener("click", (ev) => assign(ev, me && me.name));
		$("resolution-form").addEventListener("submit", resolve);
		$("lang").addEventListener("change", (ev) => { tpI18n.set(ev.target.value); route(); });
		window.addEventListener("hashchange", route);
		route();
	});
})();
