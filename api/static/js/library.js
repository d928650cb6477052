// The library: a grid of assets with live status, filters, and search hits that open the asset at a timecode.
"use strict";

import { api, duration, el, showError, whoAmI } from "./common.js";

const grid = document.getElementById("grid");
const filters = document.getElementById("filters");
const live = document.getElementById("live");
const BUSY = new Set(["queued", "processing"]);
let timer = null;

function statusBadge(asset) {
  const badge = el("span", { class: `status status-${asset.status}` }, asset.status);
  const progress = asset.progress;
  if (!progress || !BUSY.has(asset.status)) return [badge];
  const running = progress.running.map((s) => `${s.kind} ${Math.round(s.progress * 100)}%`).join(", ");
  const value = progress.total ? progress.done / progress.total : 0;
  return [badge,
    el("progress", { max: "1", value: value.toFixed(3), "aria-label": `${asset.name}: steps done` }),
    el("span", { class: "steps" }, `${progress.done}/${progress.total} steps${running ? ` · ${running}` : ""}`)];
}

function card(asset) {
  const link = `/assets/${asset.id}`;
  // a sound-only asset shows its waveform; the API gives only URLs whose picture exists
  const picture = asset.poster_url || asset.waveform_url;
  const poster = picture
    ? el("img", { src: picture, alt: "", loading: "lazy", width: "320", height: "180",
                  class: asset.poster_url ? "poster-picture" : "waveform" })
    : el("div", { class: "no-poster", "aria-hidden": "true" },
         asset.status === "failed" ? "✕" : asset.media === "audio" ? "♪" : "…");
  return el("li", { class: "card", dataset: { assetId: asset.id, status: asset.status } },
    el("a", { href: link, class: "poster" }, poster),
    el("h3", {}, el("a", { href: link }, asset.name)),
    el("dl", { class: "facts" },
      el("dt", {}, "Duration"), el("dd", {}, duration(asset.duration_s)),
      el("dt", {}, "Source TC"), el("dd", { class: "tc" }, asset.start_timecode || "–"),
      el("dt", {}, "Collection"), el("dd", {}, asset.collection),
      el("dt", {}, "Version"), el("dd", {}, asset.version ?? "–")),
    el("div", { class: "state" }, statusBadge(asset)),
    asset.error ? el("p", { class: "error" }, asset.error) : null);
}

async function refresh() {
  clearTimeout(timer);
  const params = new URLSearchParams();
  for (const name of ["collection", "status"]) if (filters[name].value) params.set(name, filters[name].value);
  try {
    const { assets } = await api(`/api/v1/assets?${params}`);
    grid.replaceChildren(...assets.map(card));
    document.getElementById("empty").hidden = assets.length > 0;
    const busy = assets.filter((a) => BUSY.has(a.status)).length;
    live.textContent = busy ? `${busy} asset(s) processing: updating live` : "";
    timer = setTimeout(refresh, busy ? 1500 : 8000);  // live while something runs, a slow poll for new files
  } catch (err) {
    showError(err, "loading the library");
    timer = setTimeout(refresh, 10000);
  }
}

async function loadCollections() {
  const { collections } = await api("/api/v1/collections");
  filters.collection.append(...collections.map((c) => el("option", { value: c.name }, `${c.name} (${c.assets})`)));
}

function hit(h) {
  const href = `/assets/${h.asset_id}?v=${h.version}&t=${h.start_s.toFixed(3)}`;
  return el("li", { class: "hit" },
    el("a", { href },
      h.keyframe_url ? el("img", { src: h.keyframe_url, alt: "", width: "160", height: "90", loading: "lazy" }) : null,
      el("span", { class: "hit-text" },
        el("strong", {}, h.asset_name), " ",
        el("span", { class: "tc" }, h.timecode || ""), " ",
        el("span", { class: `kind kind-${h.kind}` }, h.kind), el("br"),
        el("span", {}, h.text || ""))));
}

async function search(q) {
  const section = document.getElementById("hits-section");
  const list = document.getElementById("hits");
  const summary = document.getElementById("hits-summary");
  if (!q) { section.hidden = true; return; }
  section.hidden = false;
  summary.textContent = "Searching…";
  try {
    const { hits } = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
    list.replaceChildren(...hits.map(hit));
    summary.textContent = hits.length ? `${hits.length} hit(s) for “${q}”` : `Nothing found for “${q}”.`;
  } catch (err) {
    summary.textContent = "";
    showError(err, "search");
  }
}

async function loadExpiring() {
  const { rights } = await api("/api/v1/rights/expiring?days=30");
  document.getElementById("expiring-list").replaceChildren(...rights.map((r) =>
    el("li", { dataset: { assetId: r.asset_id } },
      el("a", { href: `/assets/${r.asset_id}${r.version ? `?v=${r.version}` : ""}` }, r.asset),
      r.version ? ` v${r.version}` : "", r.licence ? ` (${r.licence})` : "",
      ": rights end on ", el("time", { datetime: r.window_end }, r.ends_on),
      ` (in ${r.days_left} day${r.days_left === 1 ? "" : "s"})`)));
  document.getElementById("expiring").hidden = rights.length === 0;
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = event.target.q.value.trim();
  history.replaceState(null, "", q ? `?q=${encodeURIComponent(q)}` : location.pathname);
  search(q);
});
filters.addEventListener("change", refresh);

whoAmI().catch((err) => showError(err, "who am I"));
loadCollections().catch((err) => showError(err, "collections")).finally(refresh);
loadExpiring().catch((err) => showError(err, "expiring rights"));
const initial = new URLSearchParams(location.search).get("q");
if (initial) { document.getElementById("q").value = initial; search(initial); }
