// The officer's screen: the records waiting for their co-signature (第八条), newest first, with place, time,
// distance from where the officer stands and the photos; one tap to approve, a note to reject. Their
// position goes with the decision. A count in the title (and on the icon where the phone allows), and Web Push.
import * as api from "./api.js";
import { distanceText, drawer, h, metres, position, say, when } from "./ui.js";

let catalogue = null;
let timer = null;
const urls = [];

async function names() {
  if (!catalogue) {
    try { catalogue = await (await fetch("/app/catalogue.json")).json(); } catch { catalogue = { duties: {} }; }
  }
  return catalogue;
}

function setCount(n) {
  const badge = document.getElementById("count");
  badge.hidden = !n;
  badge.textContent = n ? `${n} 待会签` : "";
  document.title = n ? `(${n}) 待会签 · 辅助执勤` : "辅助执勤";
  if (navigator.setAppBadge) (n ? navigator.setAppBadge(n) : navigator.clearAppBadge()).catch(() => {});
}

async function pending() {
  const page = await api.call("/api/tasks?status=pending_cosign&limit=100");
  setCount(page.items.length);
  return page.items;
}

export async function refreshCount() {
  if (!api.currentUser() || api.currentUser().role !== "officer") return;
  try { await pending(); } catch { /* offline: keep the last count */ }
}

async function photo(task, ev) {
  const img = h("img", { alt: `现场照片 ${ev.filename || ""}`, class: "thumb", loading: "lazy" });
  api.blobUrl(`/api/tasks/${task.id}/evidence/${ev.id}`).then((u) => { urls.push(u); img.src = u; }).catch(() => { img.alt = "照片无法加载"; });
  return h("a", { href: "#", onclick: (e) => { e.preventDefault(); img.classList.toggle("large"); } }, img);
}

async function decide(task, decision, note, card) {
  const buttons = card.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  let pos = null;
  try { pos = await position(8000); } catch { /* sent without a position: flagged position_missing */ }
  try {
    const body = { decision, note: note || null, ...(pos || {}) };
    const done = await api.call(`/api/tasks/${task.id}/cosign`, { method: "POST", json: body });
    card.replaceWith(h("li", { class: "record ok", "data-id": task.id },
      h("strong", {}, decision === "approve" ? "已会签同意" : "已驳回"), ` · ${when(done.cosigned_at)}`));
    say(decision === "approve" ? "已会签" : "已驳回", "ok");
    refreshCount();
  } catch (err) {
    buttons.forEach((b) => { b.disabled = false; });
    if (err instanceof api.Offline) say("会签需要联网，请联网后再点。", "warn");
    else say(err.article ? `${err.article}：${err.message}` : err.message, "warn");
  }
}

function card(task, me, cat) {
  const duty = cat.duties[task.category] || {};
  const note = h("textarea", { id: `note-${task.id}`, rows: 2, maxlength: 2000 });
  const distance = me ? distanceText(metres(me, task)) : "位置未知";
  const li = h("li", { class: "record pending", "data-id": task.id },
    h("strong", {}, duty.name || task.category),
    h("p", {}, task.auxiliary ? `${task.auxiliary.name}（${task.auxiliary.badge_no}）` : ""),
    h("p", { class: "desc" }, task.description),
    h("p", {}, `时间 ${when(task.started_at)}${task.ended_at ? ` 至 ${when(task.ended_at)}` : ""}`),
    h("p", {}, `地点 ${task.lat.toFixed(5)}, ${task.lon.toFixed(5)}`,
      task.in_zone === false ? "（责任区外）" : "", ` · 距您 `, h("strong", { class: "distance" }, distance)),
    h("div", { class: "thumbs" }, []),
    h("label", { for: note.id }, "意见（驳回时必填）"), note,
    h("div", { class: "row" },
      h("button", { class: "primary big approve", onclick: () => decide(task, "approve", note.value.trim(), li) }, "同意"),
      h("button", { class: "danger big reject", onclick: () => {
        if (!note.value.trim()) { note.focus(); say("请填写驳回理由。", "warn"); return; }
        decide(task, "reject", note.value.trim(), li);
      } }, "驳回")));
  Promise.all((task.evidence || []).map((ev) => photo(task, ev))).then((imgs) => li.querySelector(".thumbs").append(...imgs));
  return li;
}

async function pushButton() {
  if (!("PushManager" in window) || !("Notification" in window) || !navigator.serviceWorker) {
    return h("p", { class: "hint" }, "此浏览器不支持推送通知；打开应用时会显示待会签数量。");
  }
  const reg = await navigator.serviceWorker.ready;
  const existing = await reg.pushManager.getSubscription().catch(() => null);
  const btn = h("button", { class: "secondary", id: "push", onclick: async () => {
    try {
      if ((await Notification.requestPermission()) !== "granted") throw new Error("未允许通知");
      const { public_key: key } = await api.call("/api/push/key");
      const raw = Uint8Array.from(atob(key.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: raw });
      await api.call("/api/push/subscriptions", { method: "POST", json: sub.toJSON() });
      btn.textContent = "已开启新任务通知"; btn.disabled = true;
    } catch (err) {
      say(`无法开启通知：${err.message}。打开应用时仍会显示待会签数量。`, "warn");
    }
  } }, existing ? "已开启新任务通知" : "开启新任务通知");
  btn.disabled = !!existing;
  return btn;
}

export async function stopPush() {
  if (!navigator.serviceWorker) return;
  const reg = await navigator.serviceWorker.getRegistration("/app/");
  const sub = reg && (await reg.pushManager.getSubscription());
  if (sub) {
    await api.call("/api/push/subscriptions", { method: "DELETE", json: { endpoint: sub.endpoint } }).catch(() => {});
    await sub.unsubscribe();
  }
}

async function queueView() {
  const draw = drawer();
  while (urls.length) URL.revokeObjectURL(urls.pop());
  const list = h("ul", { class: "records", id: "queue" });
  draw(h("section", { class: "card" }, h("h2", {}, "待我会签"), h("p", { class: "hint", id: "where" }, "正在定位…"),
    list, await pushButton()));
  if (!navigator.onLine) { list.append(h("li", {}, "离线：会签需要联网。")); return; }
  const [tasks, me, cat] = await Promise.all([pending(), position(8000).catch(() => null), names()]);
  document.getElementById("where").textContent = me ? `您的位置精度 ${Math.round(me.accuracy_m)} 米` : "未能定位：会签将标注“无位置”。";
  list.append(...(tasks.length ? tasks.map((t) => card(t, me, cat)) : [h("li", {}, "没有待会签的记录。")]));
}

export function show() {
  clearInterval(timer);
  timer = setInterval(() => { if (document.visibilityState === "visible") refreshCount(); }, 30000);
  queueView().catch((err) => { if (err instanceof api.LoggedOut) location.reload(); else say(String(err.message || err), "warn"); });
}
