// The library: a grid of assets with live status, filters, and search hits that open the asset at a timecode,
// each saying how it matched (its words, its meaning); shots like an uploaded still (search by picture).
// The team's metadata narrows it: field terms in a filter box (camera:"A cam"), a facet sidebar whose values
// add such terms, and an "Edit selected" form that sets, adds or removes a value on the assets ticked (and archives
// or restores their originals).
"use strict";

import { api, duration, el, showError, whoAmI } from "./common.js";
import { shown, term, valueControl } from "./fields.js";
import { percent, shotList } from "./shots.js";

const $ = (id) => document.getElementById(id);
const grid = $("grid");
const filters = $("filters");
const live = $("live");
const BUSY = new Set(["queued", "processing"]);
let timer = null;
let schema = null;          // GET /api/v1/metadata/schema: the fields, views and facets the caller may see
let fieldQuery = "";        // the field terms the list is filtered by (as the server last accepted them)
let shownIds = [];          // the assets in the grid now
const selected = new Set(); // asset ids ticked for "Edit selected"
let bulkFields = [];        // the fields the caller's role may edit (asset-level views)
let asked = 0;              // the latest list asked for: an older answer arriving late is dropped

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
  const pick = bulkFields.length
    ? el("label", { class: "pick" }, el("input", { type: "checkbox", class: "pick", value: asset.id,
                                                  checked: selected.has(asset.id), "aria-label": `select ${asset.name}`,
                                                  onchange: (event) => pickAsset(asset.id, event.target.checked) }),
         "select")
    : null;
  return el("li", { class: "card", dataset: { assetId: asset.id, status: asset.status } },
    pick,
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

function listParams(withFacets) {
  const params = new URLSearchParams();
  for (const name of ["collection", "status"]) if (filters[name].value) params.set(name, filters[name].value);
  if (fieldQuery) params.set("q", fieldQuery);
  if ($("attention").checked) params.set("attention", "true");
  if (withFacets && schema && schema.facets.length) params.set("facets", schema.facets.join(","));
  return params;
}

function showAssets(body) {
  const focused = document.activeElement && document.activeElement.matches("input.pick") ? document.activeElement.value : null;
  const { assets } = body;
  grid.replaceChildren(...assets.map(card));
  if (focused) { const again = grid.querySelector(`input.pick[value="${focused}"]`); if (again) again.focus(); }
  shownIds = assets.map((a) => a.id);
  for (const id of [...selected]) if (!shownIds.includes(id)) selected.delete(id);  // only what is in sight
  showSelection();
  const filtered = Boolean(fieldQuery || $("attention").checked || filters.collection.value || filters.status.value);
  $("empty").hidden = assets.length > 0 || filtered;
  $("no-match").hidden = assets.length > 0 || !filtered;
  if (body.facets) showFacets(body.facets);
  const busy = assets.filter((a) => BUSY.has(a.status)).length;
  live.textContent = busy ? `${busy} asset(s) processing: updating live` : "";
  return busy;
}

function later(busy, delay) {
  clearTimeout(timer);
  // live while something runs (the list only), a slow poll for new files (with the facets' counts)
  timer = setTimeout(() => refresh({ facets: !busy }), delay ?? (busy ? 1500 : 8000));
}

async function list(withFacets) {
  const mine = ++asked;
  const body = await api(`/api/v1/assets?${listParams(withFacets)}`);
  return mine === asked ? body : null;
}

async function refresh({ facets = true } = {}) {
  clearTimeout(timer);
  try {
    const body = await list(facets);
    if (body) later(showAssets(body));
  } catch (err) {
    showError(err, "loading the library");
    later(0, 10000);
  }
}

// a new filter: the list and the counts narrow; a term the server refuses is told beside the box, and the list
// stays as it was
async function applyFilter(text) {
  clearTimeout(timer);
  const before = fieldQuery;
  fieldQuery = text.trim();
  const problem = $("fq-error");
  try {
    const body = await list(true);
    if (!body) return;  // a newer filter is on its way
    const busy = showAssets(body);
    problem.hidden = true;
    $("fq").removeAttribute("aria-invalid");
    const url = new URLSearchParams(location.search);
    if (fieldQuery) url.set("fq", fieldQuery); else url.delete("fq");
    history.replaceState(null, "", url.toString() ? `?${url}` : location.pathname);
    later(busy);
  } catch (err) {
    fieldQuery = before;
    if (err.status === 400) {
      problem.textContent = err.message;
      problem.hidden = false;
      $("fq").setAttribute("aria-invalid", "true");
    } else showError(err, "filter");
    later(0);
  }
}

function showFacets(facets) {
  const panel = $("facets-panel");
  const fields = new Map((schema ? schema.fields : []).map((f) => [f.key, f]));
  const groups = [];
  for (const key of schema ? schema.facets : []) {
    const values = facets[key] || [];
    if (!values.length) continue;
    const field = fields.get(key) || { key, label: key };
    groups.push(el("div", { class: "facet", role: "group", "aria-labelledby": `facet-${key}`, dataset: { field: key } },
      el("h3", { id: `facet-${key}` }, field.label),
      el("ul", { "aria-labelledby": `facet-${key}` }, values.map((v) => {
        const t = term(key, v.value);
        const on = fieldQuery.includes(t);
        return el("li", {}, el("button", {
          type: "button", class: "facet-value", "aria-pressed": on ? "true" : "false", dataset: { term: t, value: String(v.value) },
          "aria-label": `${field.label}: ${shown(field, v.value)}, ${v.assets} asset${v.assets === 1 ? "" : "s"}${on ? " (filtering; click to remove)" : ""}`,
          onclick: () => toggleTerm(t),
        }, el("span", { class: "value" }, shown(field, v.value)), el("span", { class: "count" }, String(v.assets))));
      }))));
  }
  panel.hidden = !(schema && schema.facets.length);
  $("facets").replaceChildren(...groups);
  if (!groups.length) $("facets").append(el("p", { class: "muted" }, "No values to narrow by among these assets."));
}

function toggleTerm(t) {
  const box = $("fq");
  const text = box.value.includes(t) ? box.value.replace(t, " ") : `${box.value} ${t}`;
  box.value = text.replace(/\s+/g, " ").trim();
  applyFilter(box.value);
}

// ------------------------------------------------------------------------------------------ edit selected

function pickAsset(id, on) {
  if (on) selected.add(id); else selected.delete(id);
  showSelection();
}

function showSelection() {
  $("selected-count").textContent = `${selected.size} selected`;
  for (const box of grid.querySelectorAll("input.pick")) box.checked = selected.has(Number(box.value));
}

function bulkField() { return bulkFields.find((f) => f.key === $("bulk-field").value); }

function showBulkValue() {
  const field = bulkField();
  if (!field) return;
  const op = $("bulk-op");
  for (const option of op.options) option.disabled = option.value !== "set" && !field.multiple;
  if (op.selectedOptions[0].disabled) op.value = "set";
  const before = $("bulk-value");
  const control = valueControl(field, "bulk-value");
  if (before && before.dataset.field === field.key) control.value = before.value;  // another change, same value
  control.dataset.field = field.key;
  $("bulk-value-slot").replaceChildren(control);
  $("bulk-value-help").textContent = op.value === "set"
    ? `empty: clears ${field.label}${field.multiple ? "; set replaces every value" : ""}`
    : `the value to ${op.value}${field.help ? ` · ${field.help}` : ""}`;
}

function setUpBulk() {
  const seen = new Set();
  bulkFields = schema.views.filter((v) => v.editable && v.level === "asset").flatMap((v) => v.fields)
    .filter((f) => !seen.has(f.key) && seen.add(f.key));
  $("bulk-form").hidden = bulkFields.length === 0;
  $("bulk-field").replaceChildren(...bulkFields.map((f) => el("option", { value: f.key }, f.label)));
  showBulkValue();
}

async function applyBulk(event) {
  event.preventDefault();
  const note = $("bulk-note");
  const field = bulkField();
  const op = $("bulk-op").value;
  const raw = $("bulk-value").value.trim();
  note.className = "field-error";
  if (!selected.size) { note.textContent = "Tick the assets to change first (the boxes on their cards)."; return; }
  if (op !== "set" && !raw) { note.textContent = `Choose the value to ${op}.`; return; }
  let value = field.type === "boolean" ? (raw === "" ? null : raw === "true") : raw || null;
  if (op === "set" && field.multiple && value !== null) value = [value];
  const ids = [...selected];
  try {
    const done = await api("/api/v1/metadata/bulk", { method: "POST", body: { asset_ids: ids, [op]: { [field.key]: value } } });
    const what = op === "set" ? (value === null ? `${field.label} cleared` : `${field.label} set to “${shown(field, value)}”`)
      : `“${shown(field, value)}” ${op === "add" ? "added to" : "removed from"} ${field.label}`;
    note.className = "ok";
    note.textContent = `${what} on ${done.changed} asset${done.changed === 1 ? "" : "s"}.`;
    await refresh({ facets: true });
  } catch (err) {
    const problems = err.body && err.body.problems ? Object.values(err.body.problems).join("; ") : err.message;
    note.textContent = `Nothing changed: ${problems}`;
  }
}

async function loadSchema() {
  try {
    schema = await api("/api/v1/metadata/schema");
  } catch (err) {
    showError(err, "metadata fields");
    return;
  }
  setUpBulk();
}

async function loadCollections() {
  const { collections } = await api("/api/v1/collections");
  filters.collection.append(...collections.map((c) => el("option", { value: c.name }, `${c.name} (${c.assets})`)));
}

// how a hit matched: its words (full text), its meaning (sentence embeddings, with how close), or both
function matched(h) {
  return (h.matched || []).map((how) => how === "meaning"
    ? el("span", { class: "match match-meaning", title: "found by meaning: how close the passage is to the query" },
         h.similarity === undefined || h.similarity === null ? "meaning" : `meaning ${percent(h.similarity)}`)
    : el("span", { class: `match match-${how}`, title: "found by the words of the query" }, how));
}

function hit(h) {
  // a hit on a field or a field-only query (kind field/asset) has no time: the asset opens at its start
  const at = h.start_s === null || h.start_s === undefined ? "" : `&t=${h.start_s.toFixed(3)}`;
  const href = `/assets/${h.asset_id}?v=${h.version}${at}`;
  const how = matched(h);
  return el("li", { class: "hit", dataset: { assetId: h.asset_id, matched: (h.matched || []).join(" ") } },
    el("a", { href },
      h.keyframe_url ? el("img", { src: h.keyframe_url, alt: "", width: "160", height: "90", loading: "lazy" }) : null,
      el("span", { class: "hit-text" },
        el("strong", {}, h.asset_name), " ",
        el("span", { class: "tc" }, h.timecode || ""), " ",
        el("span", { class: `kind kind-${h.kind}` }, h.kind),
        how.length ? el("span", { class: "matched" }, el("span", { class: "visually-hidden" }, "matched by "), how) : null,
        el("br"),
        el("span", {}, h.text || ""))));
}

const MODES = { hybrid: "by words and meaning", words: "by words", meaning: "by meaning" };

async function search(q) {
  const section = document.getElementById("hits-section");
  const list = document.getElementById("hits");
  const summary = document.getElementById("hits-summary");
  if (!q) { section.hidden = true; return; }
  section.hidden = false;
  summary.textContent = "Searching…";
  try {
    const { hits, mode } = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
    list.replaceChildren(...hits.map(hit));
    const by = MODES[mode] ? ` (${MODES[mode]})` : "";
    summary.textContent = hits.length ? `${hits.length} hit(s) for “${q}”${by}` : `Nothing found for “${q}”${by}.`;
    if (mode === "words") summary.append(await meaningNotReady());
  } catch (err) {
    summary.textContent = "";
    showError(err, "search");
  }
}

// searched by words alone although meaning was asked for: say why (nothing embedded yet), in the API's words
async function meaningNotReady() {
  try {
    const status = await api("/api/v1/search/status");
    return status.semantic ? "" : ` Search by meaning is not ready: ${status.reason || "nothing is embedded yet"}.`;
  } catch (_) { return ""; }
}

// ------------------------------------------------------------------------------------------ search by a still

let stillUrl = null;  // the preview of the picture searched for (a blob: URL, freed when replaced)
let stillAsked = 0;

async function searchPicture(file) {
  const section = $("picture-section");
  const summary = $("picture-summary");
  const list = $("picture-shots");
  if (!file) return;
  const mine = ++stillAsked;
  section.hidden = false;
  list.replaceChildren();
  if (stillUrl) URL.revokeObjectURL(stillUrl);
  stillUrl = URL.createObjectURL(file);
  $("still-preview").src = stillUrl;
  $("still-preview").alt = `the picture searched for: ${file.name}`;
  if (!["image/jpeg", "image/png"].includes(file.type)) {
    summary.className = "field-error";
    summary.textContent = `${file.name} is not a JPEG or PNG picture: choose a frame grab or photo in one of those.`;
    return;
  }
  summary.className = "";
  summary.textContent = `Looking for shots like ${file.name}…`;
  try {
    const { shots } = await api("/api/v1/search/picture", { method: "POST", body: file });
    if (mine !== stillAsked) return;
    list.replaceChildren(...shotList(shots));
    const same = shots.filter((s) => s.near_duplicate).length;
    summary.textContent = shots.length
      ? `${shots.length} shot${shots.length === 1 ? "" : "s"} like ${file.name}, best first${same ? `; ${same} the same picture` : ""}.`
      : `No shot in the library looks like ${file.name}.`;
  } catch (err) {
    if (mine !== stillAsked) return;
    summary.className = "field-error";
    summary.textContent = err.status === 400 || err.status === 422 ? err.message : "";
    if (!summary.textContent) showError(err, "search by picture");
  }
}

function clearPicture() {
  stillAsked++;
  $("picture-section").hidden = true;
  $("picture-shots").replaceChildren();
  $("still").value = "";
  if (stillUrl) { URL.revokeObjectURL(stillUrl); stillUrl = null; }
  $("still-preview").removeAttribute("src");
  $("still").focus();
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
  const url = new URLSearchParams(location.search);  // the field filter (fq) stays
  if (q) url.set("q", q); else url.delete("q");
  history.replaceState(null, "", url.toString() ? `?${url}` : location.pathname);
  search(q);
});
filters.addEventListener("change", () => refresh());
$("picture-search").addEventListener("submit", (event) => { event.preventDefault(); searchPicture($("still").files[0]); });
$("still").addEventListener("change", () => searchPicture($("still").files[0]));
$("picture-clear").addEventListener("click", clearPicture);
$("field-filter").addEventListener("submit", (event) => { event.preventDefault(); applyFilter($("fq").value); });
$("fq-clear").addEventListener("click", () => { $("fq").value = ""; applyFilter(""); });
$("attention").addEventListener("change", () => applyFilter($("fq").value));
$("bulk-field").addEventListener("change", showBulkValue);
$("bulk-op").addEventListener("change", showBulkValue);
$("bulk-form").addEventListener("submit", (event) => applyBulk(event).catch((err) => showError(err, "edit selected")));
$("select-all").addEventListener("click", () => { for (const id of shownIds) selected.add(id); showSelection(); });
$("select-none").addEventListener("click", () => { selected.clear(); showSelection(); });

const start = new URLSearchParams(location.search);
fieldQuery = (start.get("fq") || "").trim();
$("fq").value = fieldQuery;
// what the selection bar's buttons say in #bulk-note: a problem, or what was done and what was refused (with why)
function say(text, bad = false) {
  const note = $("bulk-note");
  note.className = bad ? "field-error" : "ok";
  note.textContent = text;
}

function ticked() {
  if (!selected.size) say("Tick the assets first (the boxes on their cards).", true);
  return selected.size > 0;
}

function sayDone(text, refusals) {
  const refused = Object.values(refusals || {});
  say(text + (refused.length ? `; ${refused.length} refused: ${refused[0]}` : "."), refused.length > 0);
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// archive or restore the originals of the assets ticked (proxies, metadata and search stay online)
async function moveSelected(action) {
  if (!ticked()) return;
  const done = await api(`/api/v1/${action}`, { method: "POST", body: { assets: [...selected] } });
  sayDone(`${action === "archive" ? "Archiving" : "Restoring"} ${plural(done.queued.length, "original")}`, done.refused);
}

// delete (to the trash) or put under a legal hold the assets ticked; one a hold keeps is listed with the reason
async function deleteSelected() {
  if (!ticked()) return;
  const done = await api("/api/v1/delete", { method: "POST", body: { assets: [...selected] } });
  for (const id of done.deleted) selected.delete(id);
  sayDone(`Moved ${plural(done.deleted.length, "asset")} to the trash`, done.refused);
  showSelection();
  refresh();
}

async function holdSelected() {
  const reason = $("hold-reason").value.trim();
  if (!ticked()) return;
  if (!reason) { say("A legal hold needs a reason (a matter, a case number).", true); $("hold-reason").focus(); return; }
  const done = await api("/api/v1/hold", { method: "POST", body: { assets: [...selected], reason } });
  say(`Legal hold placed on ${plural(done.holds.length, "asset")}: nothing of them can be archived, deleted or ` +
      "replaced until it is lifted.");
  $("hold-reason").value = "";
}
$("delete-selected").addEventListener("click", () => deleteSelected().catch((err) => showError(err, "delete")));
$("hold-selected").addEventListener("click", () => holdSelected().catch((err) => showError(err, "legal hold")));
$("archive-selected").addEventListener("click", () => moveSelected("archive").catch((err) => showError(err, "archive")));
$("restore-selected").addEventListener("click", () => moveSelected("restore").catch((err) => showError(err, "restore")));

whoAmI().then((me) => {
  $("archive-selected").hidden = !(me.can || []).includes("archive");
  $("restore-selected").hidden = !(me.can || []).includes("restore");
  $("delete-selected").hidden = !(me.can || []).includes("delete");
  $("hold-selected-slot").hidden = !(me.can || []).includes("hold");
}).catch((err) => showError(err, "who am I"));
Promise.all([loadCollections().catch((err) => showError(err, "collections")), loadSchema()])
  .finally(() => (fieldQuery ? applyFilter(fieldQuery) : refresh({ facets: true })));
loadExpiring().catch((err) => showError(err, "expiring rights"));
const initial = start.get("q");
if (initial) { $("q").value = initial; search(initial); }
