// The phone app's start: the service worker, the session, the screen for the caller's role, and sending
// what is waiting whenever the network comes back or the app opens.
import * as api from "./api.js";
import * as field from "./field.js";
import * as outbox from "./outbox.js";
import * as queue from "./queue.js";
import { drawer, h, nextTurn, render, say } from "./ui.js";

const net = document.getElementById("net");

function showNet() {
  net.textContent = navigator.onLine ? "在线" : "离线";
  net.className = navigator.onLine ? "net on" : "net off";
}

const ENDED = "登录已失效，请重新登录。未发送的记录仍保存在本机，登录后自动发送。";

async function loginView(message) {
  nextTurn();
  const draw = drawer();
  document.getElementById("logout").hidden = true;
  if (!message && (await api.endedBy().catch(() => null))) message = ENDED;
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true, autocapitalize: "none" });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const err = h("p", { class: "error", role: "alert", id: "login-error" }, message || "");
  const form = h("form", {
    class: "card",
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = "";
      if (!navigator.onLine) { err.textContent = "登录需要联网。"; return; }
      try {
        await api.login(user.value.trim(), pass.value);
        pass.value = "";
        await start();
      } catch (ex) {
        err.textContent = ex instanceof api.Problem ? ex.message : "无法连接服务器，请稍后再试。";
      }
    },
  },
  h("h2", {}, "登录"),
  h("label", { for: "username" }, "用户名"), user,
  h("label", { for: "password" }, "密码"), pass,
  err,
  h("button", { type: "submit", class: "primary", id: "login" }, "登录"));
  draw(form, h("p", { class: "hint" }, "离线时也能记录工作；联网后自动发送。"));
}

async function logout() {
  const waiting = await outbox.pendingCount();
  if (waiting && !confirm(`还有 ${waiting} 项未发送。退出后它们仍保存在本机，同一账号重新登录后发送。确定退出？`)) return;
  await queue.stopPush().catch(() => {});
  await api.endSession();
  loginView();
}

function route() {
  const user = api.currentUser();
  if (!user) { loginView(); return; }
  nextTurn();
  const hash = location.hash || "#/";
  if (user.role === "officer") queue.show(hash);
  else if (user.role === "auxiliary") field.show(hash);
  else render(h("div", { class: "card" }, h("h2", {}, "请使用工作台"),
    h("p", {}, "机关管理员和司法局请在电脑上使用工作台。"), h("a", { href: "/desk/", class: "button" }, "打开工作台")));
}

export async function syncNow(reason) {
  const result = await outbox.sync();
  if (result === "logged_out") await loginView(ENDED);
  else if (result === "done" && reason === "manual") say("已全部发送", "ok");
  else if (result === "offline" && reason === "manual") say("暂时连不上服务器，记录已保存在本机，稍后自动重试。", "warn");
  return result;
}

async function start() {
  document.getElementById("logout").hidden = !api.currentUser();
  route();
  if (api.currentUser() && navigator.onLine) {
    await syncNow("open");
    route();
  }
}

async function boot() {
  showNet();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
    navigator.serviceWorker.addEventListener("message", (e) => {
      if (e.data && e.data.type === "cosign_pending") queue.refreshCount();
    });
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  window.addEventListener("online", async () => {
    showNet();
    if (api.currentUser() && (await syncNow("online")) !== "logged_out") route();
  });
  window.addEventListener("offline", showNet);
  window.addEventListener("hashchange", route);
  document.getElementById("logout").addEventListener("click", logout);
  outbox.onChange(() => field.refreshStatus());
  try {
    await api.loadSession();
  } catch {
    render(h("p", { class: "error" }, "本机存储不可用：请关闭隐私/无痕模式后再打开。"));
    return;
  }
  await start();
}

boot();
