/* i18n.js - the pages' words in English and Simplified Chinese. The
 * language is the browser's (navigator.languages) unless the reader picked
 * one with the switch (kept in localStorage). Elements carry data-t="key";
 * tpI18n.apply() fills them. No key may be missing from a language:
 * tests/browser/ checks that the zh-CN pages show no English. */
"use strict";
const tpI18n = (() => {
	const words = {
		en: {
			"lang": "Language",
			"track.title": "Your repair claim",
			"track.claim": "Claim",
			"track.now": "Where it stands:",
			"track.steps": "What has happened",
			"track.notfound": "We cannot find a claim for this link. Please check the link in your message, or contact support.",
			"track.error": "The page cannot reach the service right now. Please try again in a few minutes.",
			"state.open": "Received",
			"state.in_review": "Being reviewed",
			"state.approved": "Approved",
			"state.rejected": "Not covered",
			"state.remote_guidance": "We are guiding you through a fix",
			"state.repair_scheduled": "Repair scheduled",
			"state.replacement": "Replacement on its way",
			"state.resolved": "Done",
			"state.closed": "Closed",
			"explain.open": "We have your claim. A support engineer will look at it within two working days.",
			"explain.in_review": "A support engineer is checking what your device reported.",
			"explain.approved": "Your claim is approved. We will tell you the next step shortly.",
			"explain.rejected": "This problem is not covered. Support will explain why and what we can offer.",
			"explain.remote_guidance": "We will help you fix it without sending the device in.",
			"explain.repair_scheduled": "A repair is scheduled. We will send you the details.",
			"explain.replacement": "A replacement is being sent to you.",
			"explain.resolved": "Your claim is done. Please tell us how it went.",
			"explain.closed": "Your claim is closed.",
			"event.opened": "Claim received",
			"event.in_review": "Review started",
			"event.approved": "Approved",
			"event.rejected": "Not covered",
			"event.remote_guidance": "Guided fix started",
			"event.repair_scheduled": "Repair scheduled",
			"event.replacement": "Replacement sent",
			"event.resolved": "Done",
			"event.closed": "Closed",
			"event.feedback": "Your feedback received",
			"fb.title": "How did we do?",
			"fb.rating": "Your rating (1 = poor, 5 = excellent)",
			"fb.comment": "Anything you want to tell us (optional)",
			"fb.send": "Send",
			"fb.thanks": "Thank you for your feedback.",
			"fb.pick": "Please choose a rating from 1 to 5.",
			"fb.star": "stars",
		},
		"zh-CN": {
			"lang": "语言",
			"track.title": "您的报修申请",
			"track.claim": "申请编号",
			"track.now": "当前进度：",
			"track.steps": "处理记录",
			"track.notfound": "找不到与此链接对应的申请。请核对消息中的链接，或联系客服。",
			"track.error": "暂时无法连接服务，请几分钟后再试。",
			"state.open": "已受理",
			"state.in_review": "审核中",
			"state.approved": "已批准",
			"state.rejected": "不在保修范围内",
			"state.remote_guidance": "远程指导维修中",
			"state.repair_scheduled": "已安排维修",
			"state.replacement": "换新产品寄送中",
			"state.resolved": "已完成",
			"state.closed": "已关闭",
			"explain.open": "我们已收到您的申请，技术支持工程师将在两个工作日内处理。",
			"explain.in_review": "技术支持工程师正在核查设备上报的信息。",
			"explain.approved": "您的申请已批准，我们会尽快告知下一步。",
			"explain.rejected": "此问题不在保修范围内。客服会向您说明原因及可提供的服务。",
			"explain.remote_guidance": "我们将远程指导您排除故障，无需寄回设备。",
			"explain.repair_scheduled": "维修已安排，详细信息将发送给您。",
			"explain.replacement": "换新产品正在寄送给您。",
			"explain.resolved": "您的申请已处理完成，欢迎评价我们的服务。",
			"explain.closed": "您的申请已关闭。",
			"event.opened": "已收到申请",
			"event.in_review": "开始审核",
			"event.approved": "已批准",
			"event.rejected": "不在保修范围内",
			"event.remote_guidance": "开始远程指导",
			"event.repair_scheduled": "已安排维修",
			"event.replacement": "已寄出换新产品",
			"event.resolved": "已完成",
			"event.closed": "已关闭",
			"event.feedback": "已收到您的评价",
			"fb.title": "请评价我们的服务",
			"fb.rating": "您的评分（1 = 很差，5 = 很好）",
			"fb.comment": "其他意见（可不填）",
			"fb.send": "提交",
			"fb.thanks": "感谢您的评价。",
			"fb.pick": "请选择 1 到 5 分。",
			"fb.star": "分",
		},
	};
	function pick() {
		const saved = localStorage.getItem("tp-lang");
		if (saved && words[saved]) return saved;
		for (const l of navigator.languages || [navigator.language || "en"]) {
			if (/^zh(-CN|-Hans|$)/i.test(l)) return "zh-CN";
			if (/^en/i.test(l)) return "en";
		}
		return "en";
	}
	let lang = pick();
	function t(key) { return (words[lang] && words[lang][key]) || words.en[key] || key; }
	function apply(root) {
		document.documentElement.lang = lang;
		for (const el of (root || document).querySelectorAll("[data-t]"))
			el.textContent = t(el.dataset.t);
		const sel = document.getElementById("lang");
		if (sel) sel.value = lang;
	}
	function set(l) {
		if (!words[l]) return;
		lang = l;
		localStorage.setItem("tp-lang", l);
	}
	function time(iso) {
		const d = new Date(iso);
		return isNaN(d) ? iso : d.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
	}
	return { t, apply, set, time, get lang() { return lang; }, words };
})();
