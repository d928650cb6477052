// Logging at the player: mark an in and an out frame (the frame shown, as comments take it), fill the range
// views' fields and save a logged range (POST …/logs); the version's logged ranges listed with their source
// timecodes (click to seek) and drawn on the timeline. "Edit" puts a range's marks and values back in the form;
// saving then changes that range (PATCH /logs/{id}) until it is saved or the edit is cancelled.
"use strict";

import { api, el, showError } from "../common.js";
import { fieldRow, outgoing, shown } from "../fields.js";
import { currentFrame, seekFrame } from "./player.js";
import { $, assetId, state } from "./state.js";
import { drawLogMarks } from "./timeline.js";

const controls = new Map();   // range field key → its row in the logging form
let fields = new Map();       // range field key → definition (for showing logged values)
let editableViews = [];       // the range views the caller may fill in (the form's fieldsets)
let editing = null;           // the logged range the form changes (null: the form logs a new one)

function note(text, bad = false) {
  const slot = $("log-status");
  slot.textContent = text || "";
  slot.className = bad ? "field-error" : "muted";
}

function showMarks() {
  const tc = (frame) => (frame === null ? "–" : state.clock.timecode(frame));
  $("log-in").textContent = tc(state.logIn);
  $("log-out").textContent = tc(state.logOut);
  $("log-in").dataset.frame = state.logIn ?? "";
  $("log-out").dataset.frame = state.logOut ?? "";
  const range = $("timeline-log-range");
  if (state.logIn === null) { range.hidden = true; return; }
  const end = state.logOut ?? state.logIn;
  range.hidden = false;
  range.style.left = `${(state.logIn / Math.max(1, state.frames) * 100).toFixed(3)}%`;
  range.style.width = `${(Math.max(1, end - state.logIn) / Math.max(1, state.frames) * 100).toFixed(3)}%`;
}

export function markIn() {
  state.logIn = currentFrame();
  if (state.logOut !== null && state.logOut <= state.logIn) state.logOut = null;
  note("");
  showMarks();
}

export function markOut() {
  const frame = currentFrame();
  if (state.logIn === null) { note("Mark the in point first, then the out point.", true); return; }
  if (frame <= state.logIn) { note(`The out point must come after the in point (${state.clock.timecode(state.logIn)}).`, true); return; }
  state.logOut = frame;
  note("");
  showMarks();
}

function clearMarks() { state.logIn = null; state.logOut = null; showMarks(); }

function buildForm(views, values = {}) {
  controls.clear();
  $("log-fields").replaceChildren(...views.map((v) => el("fieldset", { class: "view", dataset: { view: v.key } },
    el("legend", {}, v.label), v.help ? el("p", { class: "muted help" }, v.help) : null,
    v.fields.map((f) => {
      const row = fieldRow(f, values[f.key] ?? null, `range-${f.key}`);
      controls.set(f.key, row);
      return row.row;
    }))));
}

// rangeViews: the metadata view's range_views (the caller's role and this asset's collections decide them)
export function setUpLogging(rangeViews) {
  fields = new Map(rangeViews.flatMap((v) => v.fields.map((f) => [f.key, f])));
  editableViews = rangeViews.filter((v) => v.editable);
  $("logging-section").hidden = rangeViews.length === 0;
  $("log-form").hidden = editableViews.length === 0;
  buildForm(editableViews);
  showMarks();
}

function summary(log) {
  return Object.entries(log.values).filter(([, v]) => v !== null && !(Array.isArray(v) && !v.length))
    .map(([key, value]) => `${(fields.get(key) || {}).label || key}: ${shown(fields.get(key), value)}`).join(" · ");
}

function logItem(log, editable) {
  const span = `${log.in_tc} – ${log.out_tc}`;
  return el("li", { class: "log", dataset: { logId: log.id, in: log.in_frame, out: log.out_frame } },
    el("button", { type: "button", class: "tc link", onclick: () => seekFrame(log.in_frame),
                   "aria-label": `go to ${log.in_tc} (logged range to ${log.out_tc})` }, span),
    " ", el("span", { class: "log-values" }, summary(log) || "no values"),
    " ", el("span", { class: "muted" }, `by ${log.created_by}`),
    editable ? el("button", { type: "button", class: "secondary small", onclick: () => startEdit(log),
                              "aria-label": `edit the logged range ${span}` }, "Edit") : null,
    editable ? el("button", { type: "button", class: "secondary small", onclick: () => remove(log),
                              "aria-label": `delete the logged range ${span}` }, "Delete") : null);
}

function setEditing(log) {
  editing = log;
  $("btn-save-log").textContent = log ? `Save changes to ${log.in_tc} – ${log.out_tc}` : "Save logged range";
  $("btn-cancel-log-edit").hidden = !log;
  for (const item of $("logs").querySelectorAll("li.log")) {
    item.classList.toggle("editing", Boolean(log) && item.dataset.logId === String(log.id));
  }
}

function startEdit(log) {
  state.logIn = log.in_frame;
  state.logOut = log.out_frame;
  showMarks();
  buildForm(editableViews, log.values);
  setEditing(log);
  note(`Editing the range ${log.in_tc} – ${log.out_tc}: move its marks or change its values, then save.`);
  seekFrame(log.in_frame);
  const first = controls.values().next().value;
  if (first) first.focus();
}

function cancelEdit() {
  setEditing(null);
  clearMarks();
  buildForm(editableViews);
  note("");
}

let listed = 0;  // the latest reading of the list asked for: an earlier answer arriving after it is dropped

export async function loadLogs() {
  if ($("logging-section").hidden) return;
  const asked = ++listed;
  const { logs } = await api(`/api/v1/assets/${assetId}/logs?version=${state.version.number}`);
  if (asked !== listed) return;  // a later reading (after a save) is on its way or already shown
  state.logs = logs;
  const editable = !$("log-form").hidden;
  $("logs").replaceChildren(...logs.map((log) => logItem(log, editable)));
  if (!logs.length) $("logs").append(el("li", { class: "muted" }, "No logged ranges yet."));
  drawLogMarks();
}

async function remove(log) {
  try {
    await api(`/api/v1/logs/${log.id}`, { method: "DELETE" });
    if (editing && editing.id === log.id) cancelEdit();
    await loadLogs();
  } catch (err) { showError(err, "delete a logged range"); }
}

async function save(event) {
  event.preventDefault();
  for (const row of controls.values()) row.showProblem(null);
  if (state.logIn === null || state.logOut === null) { note("Mark an in and an out point first.", true); return; }
  const values = {};
  for (const [key, row] of controls) {
    const value = outgoing(row.field, row.read());
    if (value !== null) values[key] = value;
  }
  try {
    let log;
    if (editing) {
      const set = {};  // every field of the form: one emptied is cleared
      for (const [key, row] of controls) set[key] = outgoing(row.field, row.read());
      log = await api(`/api/v1/logs/${editing.id}`, { method: "PATCH",
        body: { in: state.logIn, out: state.logOut, set } });
    } else {
      log = await api(`/api/v1/assets/${assetId}/logs`, { method: "POST",
        body: { version: state.version.number, in: state.logIn, out: state.logOut, values } });
    }
    const changed = Boolean(editing);
    setEditing(null);
    clearMarks();
    buildForm(editableViews);  // empty again for the next range
    note(changed ? `Changed the range, now ${log.in_tc} – ${log.out_tc}.` : `Logged ${log.in_tc} – ${log.out_tc}.`);
    await loadLogs();
  } catch (err) {
    if (err.status === 422 && err.body && err.body.problems) {
      let first = null;
      for (const [key, reason] of Object.entries(err.body.problems)) {
        const row = controls.get(key);
        if (row) { row.showProblem(reason); first = first || row; } else note(reason, true);
      }
      if (first) first.focus();
    } else note(err.message, true);
  }
}

export function wireLogging() {
  $("btn-mark-in").addEventListener("click", markIn);
  $("btn-mark-out").addEventListener("click", markOut);
  $("btn-clear-log").addEventListener("click", () => { clearMarks(); note(""); });
  $("btn-cancel-log-edit").addEventListener("click", cancelEdit);
  $("log-form").addEventListener("submit", (event) => save(event).catch((err) => showError(err, "logging")));
}
