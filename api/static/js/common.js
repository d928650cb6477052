// What every page shares: calling the JSON API with the sign-in cookie, showing errors in words.
"use strict";

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)rushes_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// status: the HTTP status (0: no answer); body: the error's JSON when there was one (a stale save's "changes",
// a refused value's "problems" field by field)
export class ApiError extends Error {
  constructor(status, message, body = null) { super(message); this.status = status; this.body = body; }
}

let signingOut = false;  // set by signOut: a request refused from then on does not send the page to /login

// body: sent as JSON, or as it is when it is a file or Blob (a picture: its own Content-Type)
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  const bytes = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = bytes ? body.type || "application/octet-stream" : "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : bytes ? body : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "cannot reach the Rushes server: is it running?");
  }
  if (response.status === 401) {
    // signing out: the page's requests still under way are refused now; the sign-out decides where to go
    if (!signingOut) location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, "signed out: sign in again");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let body = null;
    try { body = await response.json(); message = body.error || message; } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, message, body);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

// One live region per page for problems: says what went wrong, in words, until dismissed.
export function showError(err, where = "") {
  const box = document.getElementById("problems");
  const text = err instanceof Error ? err.message : String(err);
  if (!box) { console.error(text); return; }
  const item = document.createElement("li");
  item.textContent = where ? `${where}: ${text}` : text;
  const close = el("button", { type: "button", class: "link", "aria-label": "dismiss this message" }, "×");
  close.addEventListener("click", () => item.remove());
  item.append(" ", close);
  box.append(item);
}

// el("a", {href: "/x", class: "c"}, "text", child...) - never innerHTML with data
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = value;  // CSSOM: allowed by the pages' CSP, unlike attributes
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export async function signOut() {
  signingOut = true;
  let next = "/login";
  try {
    const done = await api("/api/v1/session", { method: "DELETE" });
    if (done && done.sign_out_at) next = done.sign_out_at;  // signed on through the issuer: sign out there too
  } finally { location.assign(next); }
}

export async function whoAmI() {
  const me = await api("/api/v1/me");
  const slot = document.getElementById("me");
  if (slot) {
    slot.replaceChildren(me.role === "admin" ? el("a", { href: "/farm" }, "Farm") : "", " ",
      ["admin", "editor", "reviewer"].includes(me.role) ? el("a", { href: "/inbox" }, "Inbox") : "", " ",
      (me.can || []).includes("delete") ? el("a", { href: "/trash" }, "Trash") : "", " ",
      el("a", { href: "/account", title: "your password" }, `${me.name} (${me.role})`), " ",
      el("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
  }
  return me;
}
