// Small helpers for building the screens: elements without innerHTML (every value from a record is text),
// times in Beijing time, distances, and the phone's position.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
});

export function when(iso) {
  return iso ? TIME.format(new Date(iso)) : "";
}

// A datetime-local input's value for an instant, in Beijing time.
export function localInput(date = new Date()) {
  const bj = new Date(date.getTime() + 8 * 3600 * 1000);
  return bj.toISOString().slice(0, 16);
}

// The instant a datetime-local value names, read as Beijing time, as RFC 3339 with its offset.
export function fromLocalInput(value) {
  return value ? `${value}:00+08:00` : null;
}

export function nowIso() {
  return new Date().toISOString();
}

export function metres(a, b) {
  const R = 6371008.8;
  const rad = (d) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(s));
}

export function distanceText(m) {
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`;
}

// The phone's position: {lat, lon, accuracy_m}, or an Error saying why not (refused, no fix, timeout).
export function position(timeout = 15000) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error("此浏览器不能定位")); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy * 10) / 10 }),
      (e) => reject(new Error(e.code === 1 ? "未允许定位：请在浏览器设置中允许本应用使用位置" : "暂时无法定位，请到开阔处重试")),
      { enableHighAccuracy: true, timeout, maximumAge: 30000 },
    );
  });
}

export function say(text, kind = "info") {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

export function problemText(p) {
  if (!p) return "";
  return p.article ? `${p.article}：${p.detail}` : p.detail;
}

// Replace the screen's content and move focus to it, as a page load would.
export function render(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes);
  view.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// Screens are built asynchronously, so one started earlier may finish after the user has moved on. Each
// navigation begins a new turn; a screen draws through the drawer it took when it started, and that drawer
// draws nothing once a later turn has begun: the screen the user asked for last is the one they see.
let turn = 0;

export function nextTurn() {
  turn += 1;
}

export function drawer() {
  const mine = turn;
  return (...nodes) => { if (mine === turn) render(...nodes); };
}
