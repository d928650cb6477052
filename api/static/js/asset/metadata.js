// The team's own metadata on the asset page: the views the caller may see (a form for those the role may
// edit, values for the others), saved with the revision they were read at. A stale save is refused by the API
// (409) and told here in words, who changed what, with a reload; a refused value is told beside its field (422).
// Values kept aside at ingest and values the schema no longer takes show as "metadata needs attention".
"use strict";

import { api, el, showError, when } from "../common.js";
import { fieldRow, outgoing, same, shown } from "../fields.js";
import { $, assetId } from "./state.js";

let current = null;                 // the metadata view last read (GET/PATCH …/metadata): revision, views, values
const controls = new Map();         // field key → its row in the form (fieldRow)
let fieldsByKey = new Map();        // field key → its definition, from every view shown (labels, types)

const path = () => `/api/v1/assets/${assetId}/metadata`;

function valuesOf(view) {
  const values = new Map();
  for (const v of view.views) for (const f of v.fields) values.set(f.key, f.value);
  return values;
}

function label(key) { return (fieldsByKey.get(key) || {}).label || key; }

function quoted(field, values) {
  const text = shown(field, values);
  return text === "–" ? "nothing" : `“${text}”`;
}

// ------------------------------------------------------------------------------------------ showing

export async function loadMetadata() {
  const view = await api(path());
  render(view);
  return view;
}

// a field's label as the schema names it ("Keywords"), its key when the caller sees no view with it
export function fieldLabel(key) { return label(key); }

// Show what was saved meanwhile from elsewhere on the page (an accepted tag joins Keywords): the values are read
// again; what is being typed in the form stays as typed, and is saved against the new revision.
export async function refreshMetadata() {
  if (!current) return;
  const typed = changedValues();
  const before = valuesOf(current);
  const view = await api(path());
  render(view);
  const now = valuesOf(view);
  for (const [key, value] of Object.entries(typed)) {
    const row = controls.get(key);
    if (!row) continue;
    let keep = value;
    if (row.field.multiple) {  // a list typed into: it also takes the values that arrived meanwhile
      const list = (v) => (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]);
      const old = new Set(list(before.get(key)));
      keep = [...list(value), ...list(now.get(key)).filter((v) => !old.has(v) && !list(value).includes(v))];
    }
    const again = fieldRow(row.field, keep ?? "", `md-${key}`);
    row.row.replaceWith(again.row);
    controls.set(key, again);
  }
  if (Object.keys(typed).length) $("metadata-saved").textContent = "Reloaded the saved values; your changes are still in the form, not saved.";
}

function render(view) {
  current = view;
  fieldsByKey = new Map([...view.views, ...view.range_views].flatMap((v) => v.fields.map((f) => [f.key, f])));
  controls.clear();
  const editable = view.views.filter((v) => v.editable);
  const readOnly = view.views.filter((v) => !v.editable);
  $("metadata-edit").replaceChildren(...editable.map((v) => el("fieldset", { class: "view", dataset: { view: v.key } },
    el("legend", {}, v.label), v.help ? el("p", { class: "muted help" }, v.help) : null,
    v.fields.map((f) => {
      const row = fieldRow(f, f.value, `md-${f.key}`);
      controls.set(f.key, row);
      return row.row;
    }))));
  $("metadata-form").hidden = editable.length === 0;
  $("metadata-read").replaceChildren(...readOnly.map((v) => el("div", { class: "view", dataset: { view: v.key } },
    el("h3", {}, v.label), v.help ? el("p", { class: "muted help" }, v.help) : null,
    el("dl", { class: "metadata" }, v.fields.flatMap((f) => [
      el("dt", {}, f.label), el("dd", { dataset: { field: f.key } }, shown(f, f.value))])))));
  if (!view.views.length) $("metadata-read").append(el("p", { class: "muted" }, "No metadata fields for your role on this asset."));
  $("metadata-revision").textContent = view.revision ? `Revision ${view.revision}.` : "Nothing saved yet.";
  $("metadata-section").dataset.revision = String(view.revision);
  renderAttention(view);
}

function renderAttention(view) {
  const box = $("metadata-attention");
  const { rejects, flagged, missing_required: missing } = view;
  box.hidden = !(rejects.length || flagged.length || missing.length);
  if (box.hidden) { box.replaceChildren(); return; }
  const editableKeys = new Set(view.views.filter((v) => v.editable).flatMap((v) => v.fields.map((f) => f.key)));
  const resolvable = (r) => editableKeys.has(r.field) || (!fieldsByKey.has(r.field) && editableKeys.size > 0);
  box.replaceChildren(...[
    el("h3", {}, view.needs_attention ? "Metadata needs attention" : "Metadata to complete"),
    rejects.length ? el("p", { class: "muted" }, "Values kept aside at ingest (they did not fit the schema)",
      editableKeys.size ? ": set the field, or resolve them once dealt with." : ".") : null,
    rejects.length ? el("ul", { class: "rejects" }, rejects.map((r) => el("li", { dataset: { rejectId: r.id, field: r.field } },
      el("strong", {}, label(r.field)), ": ", el("q", {}, r.value ?? ""), " from ", el("span", { class: "source" }, r.source),
      " — ", el("span", { class: "reason" }, r.reason), " ", el("span", { class: "muted" }, when(r.at)), " ",
      resolvable(r) ? el("button", { type: "button", class: "secondary small", onclick: () => resolve(r),
                                     "aria-label": `resolve the kept-aside ${label(r.field)} value ${r.value ?? ""}` }, "Resolve") : null))) : null,
    flagged.length ? el("p", { class: "muted" }, "Values the schema no longer takes",
      editableKeys.size ? " (change them to an allowed one):" : ":") : null,
    flagged.length ? el("ul", { class: "flagged" }, flagged.map((f) => el("li", { dataset: { field: f.field } },
      el("strong", {}, label(f.field)), ": ", el("q", {}, String(f.value ?? "")), " — ", f.problem))) : null,
    missing.length ? el("p", { class: "missing" }, "Required, not set: ", missing.map(label).join(", ")) : null,
  ].filter(Boolean));
}

async function resolve(reject) {
  try {
    // the form keeps what is being typed: only the attention list is redrawn
    const view = await api(`/api/v1/metadata/rejects/${reject.id}/resolve`, { method: "POST" });
    current = { ...current, rejects: view.rejects, flagged: view.flagged, missing_required: view.missing_required,
                needs_attention: view.needs_attention, attention: view.attention };
    renderAttention(current);
  } catch (err) { showError(err, "resolve"); }
}

// ------------------------------------------------------------------------------------------ saving

function changedValues() {
  const before = valuesOf(current);
  const set = {};
  for (const [key, row] of controls) {
    const value = row.read();
    if (!same(row.field, value, before.get(key))) set[key] = outgoing(row.field, value);
  }
  return set;
}

function clearProblems() {
  for (const row of controls.values()) row.showProblem(null);
  $("metadata-conflict").hidden = true;
  $("metadata-conflict").replaceChildren();
}

async function save(event) {
  event.preventDefault();
  clearProblems();
  const set = changedValues();
  const note = $("metadata-saved");
  if (!Object.keys(set).length) { note.textContent = "Nothing changed."; return; }
  note.textContent = "Saving…";
  try {
    let view;
    try {
      view = await api(path(), { method: "PATCH", body: { revision: current.revision, set } });
    } catch (err) {
      // logging a range moves the asset's revision too: when only logged ranges changed since, none of the
      // values in this form did, and the save goes again on the new revision (anything else is a conflict)
      const changes = err.status === 409 && err.body && err.body.changes;
      if (!changes || !changes.length || changes.some((c) => c.log_id === null || c.log_id === undefined)) throw err;
      view = await api(path(), { method: "PATCH", body: { revision: err.body.revision, set } });
    }
    render(view);
    note.textContent = `Saved (revision ${view.revision}).`;
  } catch (err) {
    note.textContent = "";
    if (err.status === 409 && err.body && err.body.changes) showConflict(err.body, set);
    else if (err.status === 422 && err.body && err.body.problems) showProblems(err.body.problems);
    else showError(err, "metadata");
  }
}

function showProblems(problems) {
  let first = null;
  for (const [key, reason] of Object.entries(problems)) {
    const row = controls.get(key);
    if (row) { row.showProblem(reason); first = first || row; } else showError(reason, `metadata: ${label(key)}`);
  }
  $("metadata-saved").textContent = "Not saved: see the fields marked.";
  if (first) first.focus();
}

function changeText(c) {
  const field = fieldsByKey.get(c.field) || { type: "text" };
  const name = c.log_id !== null && c.log_id !== undefined ? `a logged range's ${label(c.field)}` : label(c.field);
  if (c.field === "range") return c.new && c.new.length ? "moved a logged range" : "deleted a logged range";
  if (!c.old || !c.old.length) return `set ${name} to ${quoted(field, c.new)}`;
  if (!c.new || !c.new.length) return `cleared ${name} (was ${quoted(field, c.old)})`;
  return `changed ${name} from ${quoted(field, c.old)} to ${quoted(field, c.new)}`;
}

function showConflict(body, mine) {
  const box = $("metadata-conflict");
  const reload = el("button", { type: "button", id: "metadata-reload" }, "Reload the metadata");
  reload.addEventListener("click", async () => {
    try {
      await loadMetadata();
      clearProblems();
      $("metadata-saved").textContent = "Reloaded: enter your changes again if they still apply.";
    } catch (err) { showError(err, "metadata"); }
  });
  box.replaceChildren(
    el("p", {}, el("strong", {}, "Not saved: "),
      `someone saved this asset's metadata since you opened it (you read revision ${current.revision}, it is now at ${body.revision}).`),
    el("ul", { class: "changes" }, body.changes.map((c) => el("li", { dataset: { field: c.field } },
      el("strong", {}, c.by || "someone"), ` ${changeText(c)}`, c.at ? el("span", { class: "muted" }, ` · ${when(c.at)}`) : null))),
    el("p", {}, "Your changes (not saved): ", Object.entries(mine).map(([key, value]) =>
      `${label(key)} → ${quoted(fieldsByKey.get(key) || {}, value)}`).join("; "), "."),
    el("div", { class: "row" }, reload, el("span", { class: "muted" }, "shows the values saved now; enter yours again where they still apply")));
  box.hidden = false;
  reload.focus();
}

export function wireMetadata() {
  $("metadata-form").addEventListener("submit", (event) => save(event).catch((err) => showError(err, "metadata")));
}
