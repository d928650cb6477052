// The Farm page (admins): workers alive with the steps they hold, big files arriving, queue depths, the last
// hour's throughput and the latest failures with a retry button; polled every few seconds.
"use strict";

import { api, el, showError, when, whoAmI } from "./common.js";

const POLL_MS = 3000;
let timer = null;

function worker(w) {
  const steps = w.steps.length
    ? w.steps.map((s) => el("div", { class: "held" },
        el("a", { href: `/assets/${s.asset_id}` }, s.asset), ` · ${s.kind} `,
        el("progress", { max: "1", value: s.progress.toFixed(3), "aria-label": `${s.asset}: ${s.kind}` }),
        ` ${Math.round(s.progress * 100)}%`))
    : "idle";
  return el("tr", { dataset: { worker: w.name, state: w.state } },
    el("th", { scope: "row" }, w.host, el("br"), el("small", {}, `pid ${w.pid}`)),
    el("td", {}, w.queues.join(", ")),
    el("td", {}, String(w.threads)),
    el("td", {}, el("span", { class: `status status-${w.alive ? "ready" : "failed"}` }, w.state),
      w.alive ? null : el("small", {}, ` last seen ${when(w.heartbeat_at)}`)),
    el("td", {}, steps));
}

function arriving(file) {
  const gb = (bytes) => (bytes / 1e9).toFixed(1);
  return el("li", { dataset: { stalled: String(file.stalled) } }, `${file.name} (${file.folder}) `,
    el("progress", { max: String(file.size), value: String(file.copied), "aria-label": `${file.name}: copied` }),
    ` ${gb(file.copied)} of ${gb(file.size)} GB copied`,
    file.stalled ? el("span", { class: "error" }, ` · stalled since ${when(file.updated_at)}`) : null);
}

function throughput(buckets) {
  const peak = Math.max(1, ...buckets.map((b) => b.done + b.failed));
  const done = buckets.reduce((n, b) => n + b.done, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  document.getElementById("throughput-summary").textContent =
    `${done} step(s) finished, ${failed} failed in the last hour`;
  return buckets.map((b) => el("li", { title: `${when(b.start)}: ${b.done} done, ${b.failed} failed` },
    el("span", { class: "bar-done", style: `height: ${(100 * b.done / peak).toFixed(1)}%` }),
    el("span", { class: "bar-failed", style: `height: ${(100 * b.failed / peak).toFixed(1)}%` })));
}

async function retry(f, button) {
  button.disabled = true;
  try {
    const { retried_steps: retried } = await api(`/api/v1/assets/${f.asset_id}/retry`, { method: "POST" });
    document.getElementById("note").textContent = retried.length
      ? `${f.asset}: re-queued ${retried.join(", ")}` : `${f.asset}: nothing left to retry`;
    refresh();
  } catch (err) {
    button.disabled = false;
    showError(err, "retry");
  }
}

function failure(f) {
  const button = el("button", { type: "button" }, "Retry");
  button.addEventListener("click", () => retry(f, button));
  return el("li", { dataset: { assetId: f.asset_id } },
    el("a", { href: `/assets/${f.asset_id}` }, f.asset), ` v${f.version} · ${f.step} · `,
    el("time", { datetime: f.at || "" }, when(f.at)), el("br"),
    el("span", { class: "error" }, f.error || "no reason recorded"), " ", button);
}

async function refresh() {
  clearTimeout(timer);
  try {
    const farm = await api("/api/v1/farm");
    document.getElementById("workers").replaceChildren(...farm.workers.map(worker));
    document.getElementById("arriving").replaceChildren(...farm.arriving.map(arriving));
    document.getElementById("arriving-section").hidden = farm.arriving.length === 0;
    document.getElementById("queues").replaceChildren(...Object.entries(farm.queues).map(([name, q]) =>
      el("tr", { dataset: { queue: name } }, el("th", { scope: "row" }, name),
        el("td", {}, String(q.queued)), el("td", {}, String(q.running)))));
    document.getElementById("throughput").replaceChildren(...throughput(farm.throughput));
    document.getElementById("failures").replaceChildren(...farm.failures.map(failure));
    document.getElementById("no-failures").hidden = farm.failures.length > 0;
    const alive = farm.workers.filter((w) => w.alive).length;
    document.getElementById("live").textContent =
      `${alive} worker(s) alive · updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    showError(err, "loading the farm");
  }
  timer = setTimeout(refresh, POLL_MS);
}

whoAmI().catch((err) => showError(err, "who am I"));
refresh();
