/* track.js - the customer's tracking page: GET /api/v1/track/{token}, the
 * state and its steps in plain words, and the feedback form (taken once). */
"use strict";
(() => {
	const token = location.pathname.split("/").pop();
	const $ = (id) => document.getElementById(id);
	let claim = null;

	function show() {
		tpI18n.apply();
		if (!claim) return;
		$("claim").hidden = false;
		$("claim-id").textContent = claim.id;
		$("claim-model").textContent = claim.model || "";
		$("claim-state").textContent = tpI18n.t("state." + claim.state);
		$("claim-explain").textContent = tpI18n.t("explain." + claim.state);
		const ol = $("timeline");
		ol.replaceChildren();
		for (const e of claim.timeline) {
			const li = document.createElement("li");
			const when = document.createElement("time");
			when.dateTime = e.at;
			when.textContent = tpI18n.time(e.at);
			li.append(when, " ", tpI18n.t("event." + e.event));
			ol.append(li);
		}
		$("feedback").hidden = !claim.feedback_open;
		$("fb-thanks").hidden = !claim.feedback_given;
		const stars = $("fb-stars");
		if (!stars.childElementCount) {
			for (let i = 1; i <= 5; i++) {
				const l = document.createElement("label");
				const r = document.createElement("input");
				r.type = "radio";
				r.name = "rating";
				r.value = String(i);
				l.append(r, " " + i);
				stars.append(l);
			}
		}
	}

	function fail(key) {
		$("error").hidden = false;
		$("error").dataset.t = key;
		tpI18n.apply();
	}

	async function load() {
		try {
			const r = await fetch("/api/v1/track/" + encodeURIComponent(token));
			if (r.status === 404) return fail("track.notfound");
			if (!r.ok) return fail("track.error");
			claim = await r.json();
			show();
		} catch (e) {
			fail("track.error");
		}
	}

	$("lang").addEventListener("change", (ev) => { tpI18n.set(ev.target.value); show(); });
	$("fb-form").addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const picked = document.querySelector("input[name=rating]:checked");
		if (!picked) return alert(tpI18n.t("fb.pick"));
		const r = await fetch("/api/v1/track/" + encodeURIComponent(token) + "/feedback", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ rating: Number(picked.value), comment: $("fb-comment").value }),
		});
		if (r.ok) claim = await r.json();
		else await load();
		show();
	});
	tpI18n.apply();
	load();
})();
