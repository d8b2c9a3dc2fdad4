// The auxiliary's screens: the day (shift, what waits to be sent), recording a task with photos, reporting
// work they must not do (第十九条), their records with what became of each, and corrections.
import * as api from "./api.js";
import * as idb from "./idb.js";
import { syncNow } from "./main.js";
import * as outbox from "./outbox.js";
import { drawer, fromLocalInput, h, localInput, nowIso, position, problemText, say, when } from "./ui.js";

const STATUS = {
  recorded: "已记录", pending_cosign: "待执法人员会签", cosigned: "已会签", rejected: "已驳回", superseded: "已更正（旧版本）",
};
let catalogue = null;

async function duties() {
  const uid = api.currentUser().id;
  if (navigator.onLine) {
    try {
      const [d, o] = await Promise.all([api.call("/api/me/duties"), api.call("/api/me/officers?limit=100")]);
      d.fetched_at = Date.now();
      await idb.put("kv", d, `duties:${uid}`);
      await idb.put("kv", o.items, `officers:${uid}`);
    } catch (err) {
      if (err instanceof api.LoggedOut) throw err;
    }
  }
  return { duties: await idb.get("kv", `duties:${uid}`), officers: (await idb.get("kv", `officers:${uid}`)) || [] };
}

async function serverTasks() {
  const uid = api.currentUser().id;
  if (navigator.onLine) {
    try {
      const page = await api.call("/api/tasks?limit=100");
      await idb.put("kv", page.items, `tasks:${uid}`);
    } catch (err) {
      if (err instanceof api.LoggedOut) throw err;
    }
  }
  return (await idb.get("kv", `tasks:${uid}`)) || [];
}

async function names() {
  if (!catalogue) {
    try { catalogue = await (await fetch("/app/catalogue.json")).json(); } catch { catalogue = { duties: {} }; }
  }
  return catalogue;
}

// Whether a shift is open: the server's answer when the duties were fetched, then what the phone did since.
async function shiftOpen(d) {
  let open = d && d.open_shift ? d.open_shift.check_in_id : null;
  const since = (d && d.fetched_at) || 0;
  const shifts = (await outbox.records()).filter((r) => r.kind === "shift" && r.state !== "refused" && r.made_at > since);
  for (const r of shifts.sort((a, b) => a.made_at - b.made_at)) open = r.meta.shift_kind === "check_in" ? r.id : null;
  return open;
}

function statusLine() {
  // Never empty: until the outbox has been counted it says so (an empty line is no status at all).
  return h("p", { id: "sync-status", class: "sync", role: "status", "aria-live": "polite" }, "正在清点待发送的记录…");
}

export async function refreshStatus() {
  const el = document.getElementById("sync-status");
  if (!el || !api.currentUser()) return;
  const n = await outbox.pendingCount();
  const last = await outbox.lastSync();
  el.textContent = (n ? `${n} 项等待发送` : "全部已发送") + (last ? ` · 上次发送 ${when(new Date(last).toISOString())}` : "");
  el.className = n ? "sync waiting" : "sync done";
}

async function home() {
  const draw = drawer();
  const user = api.currentUser();
  const { duties: d } = await duties();
  const open = await shiftOpen(d);
  const shiftBtn = h("button", { class: "primary big", id: open ? "check-out" : "check-in",
    onclick: () => checkInOut(open ? "check_out" : "check_in") }, open ? "签退" : "签到");
  draw(
    h("section", { class: "card who" },
      h("h2", {}, user.name),
      d ? h("p", {}, `证件编号 ${d.badge_no} · ${d.command_agency.name}`) : h("p", { class: "hint" }, "联网后下载本人信息。"),
      d && d.credential_status !== "valid" ? h("p", { class: "error" }, "证件当前无效（第二十三条）：不得从事辅助工作。") : null),
    h("section", { class: "card" }, h("h2", {}, open ? "执勤中" : "未签到"), shiftBtn, h("p", { class: "hint", id: "shift-hint" })),
    h("section", { class: "card" }, statusLine(),
      h("button", { class: "secondary", id: "sync-now", onclick: () => syncNow("manual").then(refreshStatus) }, "立即发送")),
    h("nav", { class: "actions" },
      h("a", { class: "button primary big", href: "#/new", id: "new-task" }, "记录工作"),
      h("a", { class: "button secondary", href: "#/records", id: "records" }, "我的记录"),
      h("a", { class: "button warn", href: "#/report", id: "report" }, "报告违规指派（第十九条）")),
  );
  refreshStatus();
}

async function checkInOut(kind) {
  const hint = document.getElementById("shift-hint");
  hint.textContent = "正在定位…";
  let pos;
  try { pos = await position(); } catch (err) { hint.textContent = err.message; return; }
  await outbox.add("shift", { id: outbox.newId(), at: nowIso(), ...pos }, { shift_kind: kind });
  say(`${kind === "check_in" ? "已签到" : "已签退"}（定位精度 ${Math.round(pos.accuracy_m)} 米）`, "ok");
  if (navigator.onLine) await syncNow("record");
  if ((location.hash || "#/") === "#/") home();
}

function field(label, input, help) {
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, help ? h("p", { class: "hint" }, help) : null);
}

function photoPicker(list) {
  const out = h("ul", { class: "photos", id: "photo-list" });
  const input = h("input", { type: "file", id: "photos", accept: "image/*", capture: "environment", multiple: true,
    onchange: async () => {
      for (const file of input.files) {
        const hash = await outbox.sha256(file);
        list.push(file);
        out.append(h("li", {}, `${file.name || "照片"} · ${Math.round(file.size / 1024)} KB`, h("br"),
          h("code", { class: "hash" }, `SHA-256 ${hash}`)));
      }
      input.value = "";
    } });
  return [field("现场照片（可多张）", input, "照片在本机计算 SHA-256 后保存，联网后上传；服务器存的哈希须与此一致。"), out];
}

function taskForm({ title, d, officers, cat, onSave, prefill = {}, report = false }) {
  const cats = h("select", { id: "category", required: true });
  const ind = d ? d.independent : [];
  const ass = d ? d.assisted : [];
  cats.append(h("option", { value: "" }, "请选择"));
  if (ind.length) cats.append(h("optgroup", { label: "可独立开展（第七条）" }, ind.map((x) => h("option", { value: x.code }, x.name))));
  cats.append(h("optgroup", { label: "须执法人员在场指挥（第八条）" }, ass.map((x) => h("option", { value: x.code }, x.name))));
  if (report) for (const x of Object.entries(cat.duties)) if (![...ind, ...ass].some((y) => y.code === x[0])) cats.append(h("option", { value: x[0] }, x[1].name));
  cats.value = prefill.category || "";
  const officer = h("select", { id: "officer" }, h("option", { value: "" }, "请选择指挥的执法人员"),
    officers.map((o) => h("option", { value: o.officer_id }, `${o.name}（${o.cert_no}）`)));
  officer.value = prefill.officer_id || "";
  const ref = h("input", { id: "reference", maxlength: 1000 });
  const desc = h("textarea", { id: "description", required: true, maxlength: 4000, rows: 4 }, prefill.description || "");
  const start = h("input", { id: "started", type: "datetime-local", required: true, value: localInput(prefill.started_at ? new Date(prefill.started_at) : new Date()) });
  const end = h("input", { id: "ended", type: "datetime-local", value: prefill.ended_at ? localInput(new Date(prefill.ended_at)) : "" });
  const officerField = field("指挥的执法人员（第八条）", officer, "该执法人员将在其手机上会签此记录。");
  const refField = field("", ref);
  const flags = report && d ? d.forbidden.map((f) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "flag", value: f.flag }), ` ${f.name}（${f.article}）`)) : [];
  const photos = [];
  const err = h("p", { class: "error", role: "alert", id: "form-error" });
  const sync = () => {
    const code = cats.value;
    const duty = [...ind, ...ass].find((x) => x.code === code) || (cat.duties[code] ? { code, ...cat.duties[code] } : null);
    officerField.hidden = !(duty && (duty.assisted || ass.some((x) => x.code === code)));
    const needs = duty ? duty.requires : null;
    refField.hidden = !needs && !report;
    refField.querySelector("label").textContent = needs === "legal_basis" ? "法律依据（第八条(六)）"
      : needs ? "交办文号或交办人（第七条(六)）" : "交办文号或指派人（如有）";
    ref.required = !!needs && !report;
    officer.required = !officerField.hidden && !report;
  };
  cats.addEventListener("change", sync);
  const form = h("form", { class: "card", id: "task-form", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const chosen = flags.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    if (report && !chosen.length) { err.textContent = "请勾选被要求从事的违规工作。"; return; }
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true; btn.textContent = "正在定位…";
    let pos;
    try { pos = await position(); } catch (ex) { err.textContent = ex.message; btn.disabled = false; btn.textContent = "保存"; return; }
    const needs = refField.hidden ? null : ([...ind, ...ass].find((x) => x.code === cats.value) || cat.duties[cats.value] || {}).requires;
    const body = {
      id: outbox.newId(), category: cats.value, description: desc.value.trim(),
      started_at: fromLocalInput(start.value), ended_at: fromLocalInput(end.value), lat: pos.lat, lon: pos.lon,
    };
    if (!officerField.hidden && officer.value) body.officer_id = officer.value;
    if (needs && ref.value.trim()) body[needs] = ref.value.trim();
    if (!needs && report && ref.value.trim()) body.assignment_ref = ref.value.trim();
    if (chosen.length) body.flags = Object.fromEntries(chosen.map((f) => [f, true]));
    if (!body.ended_at) delete body.ended_at;
    await onSave(body, photos, { category_name: cats.selectedOptions[0].textContent, accuracy_m: pos.accuracy_m,
      officer_name: officer.value ? officer.selectedOptions[0].textContent : null, report });
  } },
  h("h2", {}, title),
  field(report ? "被要求从事的工作" : "工作类别", cats),
  officerField, refField,
  field(report ? "谁、何时、要求做什么" : "工作内容", desc),
  flags.length ? h("fieldset", {}, h("legend", {}, "违反第十九条的情形（至少一项）"), flags) : null,
  field("开始时间（北京时间）", start), report ? null : field("结束时间（可不填）", end),
  report ? null : photoPicker(photos),
  err,
  h("button", { type: "submit", class: "primary big" }, "保存"),
  h("a", { href: "#/", class: "button secondary" }, "返回"));
  sync();
  return form;
}

async function save(kind, body, photos, meta, extra = {}) {
  await outbox.add(kind, body, { ...meta, ...extra });
  for (const file of photos) await outbox.addPhoto(body.id, file);
  say(navigator.onLine ? "已保存，正在发送…" : "已保存在本机，联网后自动发送。", "ok");
  location.hash = "#/records";
  if (navigator.onLine) {
    await syncNow("record");
    if (location.hash === "#/records") await recordsView();
  }
}

async function newTask(report) {
  const draw = drawer();
  const { duties: d, officers } = await duties();
  if (!d) { draw(h("p", { class: "card error" }, "首次使用请联网，以下载可从事的工作范围。")); return; }
  const cat = await names();
  draw(taskForm({ title: report ? "报告违规指派（第十九条）" : "记录工作", d, officers, cat, report,
    onSave: (body, photos, meta) => save("task", body, photos, meta) }));
}

async function correction(id) {
  const draw = drawer();
  const { duties: d, officers } = await duties();
  const task = (await serverTasks()).find((t) => t.id === id);
  if (!task || !d) { draw(h("p", { class: "card error" }, "找不到该记录，请联网后重试。")); return; }
  draw(taskForm({ title: "更正记录（生成新版本，旧版本保留）", d, officers, cat: await names(), prefill: task,
    onSave: (body, photos, meta) => save("correction", body, photos, meta, { corrects: id }) }));
}

// A refused record filled in again as a new record (a new id); the refused one stays, with its reason.
async function redo(id) {
  const draw = drawer();
  const { duties: d, officers } = await duties();
  const rec = (await outbox.records()).find((r) => r.id === id);
  if (!rec || !d) { draw(h("p", { class: "card error" }, "找不到该记录。")); return; }
  draw(taskForm({ title: "重新记录", d, officers, cat: await names(), prefill: rec.body,
    onSave: (body, photos, meta) => save("task", body, photos, meta, { redoes: id }) }));
}

function stateText(rec) {
  if (rec.state === "pending") return ["待发送", "pending"];
  if (rec.state === "saved") return ["已保存", "ok"];
  if (rec.state === "duplicate") return ["已保存（此前已发送过）", "ok"];
  if (rec.meta.report && rec.problem && rec.problem.code === "forbidden_work") return [`已上报：${problemText(rec.problem)}`, "warn"];
  return [`被拒绝：${problemText(rec.problem)}`, "refused"];
}

async function photoLines(taskId) {
  return (await outbox.photosOf(taskId)).map((p) => h("li", { class: `photo ${p.state}` },
    { pending: "照片待上传", uploaded: "照片已上传，服务器哈希一致", mismatch: "照片已上传，但服务器哈希不一致！",
      refused: `照片被拒绝：${p.problem ? p.problem.detail : ""}`, kept: "照片保存在本机（记录被拒绝）" }[p.state] || p.state,
    h("br"), h("code", { class: "hash" }, `SHA-256 ${p.sha256}`)));
}

async function recordsView() {
  const draw = drawer();
  const cat = await names();
  const local = await outbox.records();
  const server = await serverTasks();
  const byId = new Map(server.map((t) => [t.id, t]));
  const items = [];
  for (const rec of local) {
    const t = byId.get(rec.id);
    const [text, cls] = stateText(rec);
    const title = rec.kind === "shift" ? (rec.meta.shift_kind === "check_in" ? "签到" : "签退")
      : `${rec.kind === "correction" ? "更正：" : ""}${rec.meta.category_name || rec.body.category}`;
    items.push(h("li", { class: `record ${cls}`, "data-id": rec.id, "data-state": rec.state },
      h("strong", {}, title), " ", h("span", { class: "when" }, when(rec.body.started_at || rec.body.at)),
      h("p", { class: "state" }, text),
      t ? h("p", {}, `服务器状态：${STATUS[t.status] || t.status}`) : null,
      rec.meta.officer_name ? h("p", {}, `指挥的执法人员：${rec.meta.officer_name}`) : null,
      rec.kind !== "shift" ? h("p", { class: "desc" }, rec.body.description) : null,
      h("ul", {}, await photoLines(rec.id)),
      t && t.status !== "superseded" && !t.superseded_by ? h("a", { class: "button small", href: `#/correct/${t.id}` }, "更正") : null,
      rec.state === "refused" && rec.kind === "task" && !rec.meta.report
        ? h("a", { class: "button small", href: `#/redo/${rec.id}` }, "修改后重新记录") : null));
  }
  const localIds = new Set(local.map((r) => r.id));
  for (const t of server.filter((x) => !localIds.has(x.id))) {
    items.push(h("li", { class: "record ok", "data-id": t.id },
      h("strong", {}, (cat.duties[t.category] || {}).name || t.category), " ", h("span", { class: "when" }, when(t.started_at)),
      h("p", {}, `服务器状态：${STATUS[t.status] || t.status}`), h("p", { class: "desc" }, t.description),
      t.status !== "superseded" && !t.superseded_by ? h("a", { class: "button small", href: `#/correct/${t.id}` }, "更正") : null));
  }
  draw(h("section", { class: "card" }, h("h2", {}, "我的记录"), statusLine(),
    h("button", { class: "secondary", id: "sync-now", onclick: async () => { await syncNow("manual"); recordsView(); } }, "立即发送"),
    items.length ? h("ul", { class: "records", id: "record-list" }, items) : h("p", {}, "还没有记录。"),
    h("a", { href: "#/", class: "button secondary" }, "返回")));
  refreshStatus();
}

export function show(hash) {
  const [, page, arg] = hash.split("/");
  const run = page === "new" ? newTask(false) : page === "report" ? newTask(true) : page === "records" ? recordsView()
    : page === "correct" ? correction(arg) : page === "redo" ? redo(arg) : home();
  run.catch((err) => { if (err instanceof api.LoggedOut) location.reload(); else say(String(err.message || err), "warn"); });
}
