// Storage: where the shown version's original is (library or an archive location), a move under way with its
// progress, the last move's error, legal holds and retention; Archive / Restore / Move to trash / Place hold for
// those whose role may.
"use strict";

import { api, el, showError, when } from "../common.js";
import { $, allowedTo, assetId, state } from "./state.js";

let polling = null;

function render(view) {
  const version = view.versions.find((v) => v.version_id === state.version.id) || view.versions[0];
  const where = version.tier === "archive" ? `in the archive (${version.location}) since ${when(version.archived_at)}`
    : "in the library";
  const rows = [["Original", where]];
  if (version.moving) rows.push(["Now", `${version.moving === "archive" ? "archiving" : "restoring"} ` +
                                        `${Math.round((version.progress || 0) * 100)} %`]);
  if (version.waiting) rows.push(["Waiting", `${version.waiting} render(s) wait for the original`]);
  const renditions = version.renditions || { library: 0, archive: 0 };
  if (renditions.library || renditions.archive) {
    rows.push(["Renditions", [renditions.library ? `${renditions.library} in the library` : "",
                              renditions.archive ? `${renditions.archive} in the archive` : ""].filter(Boolean).join(", ")]);
  }
  if (version.error) rows.push(["Last move", `failed: ${version.error}`]);
  rows.push(["Retention", view.retain_until ? `kept until ${view.retain_until.slice(0, 10)}` : "none set"]);
  for (const hold of view.holds) {
    rows.push(["Legal hold", `${hold.reason} (placed by ${hold.placed_by} on ${hold.placed_at.slice(0, 10)})`]);
  }
  $("storage").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("storage").dataset.tier = version.tier;
  $("storage").dataset.moving = version.moving || "";
  const held = view.holds.length > 0;
  $("btn-archive").hidden = !allowedTo("archive") || version.tier !== "library";
  $("btn-archive").disabled = Boolean(version.moving) || held;
  $("btn-archive").title = held ? "under legal hold: it cannot be archived" : "";
  const slot = $("archive-renditions-slot");
  if (slot.hidden && !slot.dataset.set) { $("archive-renditions").checked = view.archive_renditions; slot.dataset.set = "1"; }
  slot.hidden = $("btn-archive").hidden || !renditions.library;
  $("btn-restore").hidden = !allowedTo("restore") || version.tier !== "archive";
  $("btn-restore").disabled = Boolean(version.moving);
  $("btn-trash").hidden = !allowedTo("delete");
  $("btn-trash").disabled = held;
  $("btn-trash").title = held ? "under legal hold: it cannot be deleted" : "";
  $("hold-form").hidden = !allowedTo("hold");
  clearTimeout(polling);
  if (version.moving) polling = setTimeout(() => loadStorage().catch((err) => showError(err, "storage")), 1000);
}

export async function loadStorage() {
  render(await api(`/api/v1/assets/${assetId}/storage`));
}

async function move(action) {
  try {
    const asked = action === "archive" && !$("archive-renditions-slot").hidden
      ? `?renditions=${$("archive-renditions").checked}` : "";
    const answer = await api(`/api/v1/assets/${assetId}/${action}${asked}`, { method: "POST" });
    const refused = Object.values(answer.refused || {});
    $("storage-status").textContent = answer.queued.length ? `${action} queued` : (refused[0] || "nothing to do");
    await loadStorage();
  } catch (err) { showError(err, action); }
}

async function toTrash() {
  try {
    await api(`/api/v1/assets/${assetId}`, { method: "DELETE" });
    $("storage-status").replaceChildren("In the trash: ", el("a", { href: "/library" }, "back to the library"));
    for (const id of ["btn-archive", "btn-restore", "btn-trash"]) $(id).disabled = true;
  } catch (err) { showError(err, "delete"); }
}

async function placeHold(event) {
  event.preventDefault();
  try {
    await api("/api/v1/holds", { method: "POST", body: { asset_id: assetId, reason: event.target.reason.value } });
    event.target.reset();
    await loadStorage();
  } catch (err) { showError(err, "legal hold"); }
}

export function wireStorage() {
  $("btn-archive").addEventListener("click", () => move("archive"));
  $("btn-restore").addEventListener("click", () => move("restore"));
  $("btn-trash").addEventListener("click", toTrash);
  $("hold-form").addEventListener("submit", placeHold);
}
