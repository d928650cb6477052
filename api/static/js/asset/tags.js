// The current scene's tags: each keyframe label with its confidence (only those people may trust: at or over the
// farm's threshold, or accepted), how many low-confidence ones are hidden, faces, on-screen text, colours, flags.
// Roles that may edit metadata accept a label (it joins the asset's Keywords field, and the Metadata panel shows
// it) or reject it (gone from this shot for good).
"use strict";

import { api, el, showError } from "../common.js";
import { fieldLabel, refreshMetadata } from "./metadata.js";
import { $, allowedTo, assetId, state } from "./state.js";

let shown = null;  // the scene whose tags are on screen

const pct = (score) => `${Math.round(score * 100)}%`;

function hasTags(tags) { return Boolean(tags) && Object.keys(tags).some((key) => key !== "decisions"); }

export function renderTags(scene) {
  if (scene !== shown) $("tags-status").textContent = "";  // what was said was about another shot
  shown = scene;
  const box = $("tags");
  if (!scene || !hasTags(scene.tags)) {
    box.replaceChildren(el("p", { class: "muted" }, scene ? "No tags for this scene (yet)." : "No scene here."));
    return;
  }
  const t = scene.tags;
  const rows = [];
  const add = (label, value) => { if (value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && !value.length)) rows.push(el("dt", {}, label), el("dd", {}, value)); };
  add("Scene", `${scene.index + 1}: ${scene.start_tc} – ${scene.end_tc}`);
  if (t.labels && (t.labels.length || t.labels_hidden)) add("Labels", labels(scene));
  add("Faces", t.faces);
  add("On-screen text", t.text);
  add("Colours", (t.colors || []).map(([hex, share]) =>
    el("span", { class: "chip", style: `background:${hex}`, title: `${hex}: ${Math.round(share * 100)}% of the frame` }, `${Math.round(share * 100)}%`)));
  const flags = ["black", "blurry"].filter((f) => t[f]);
  add("Flags", flags.join(", "));
  box.replaceChildren(el("dl", { class: "metadata" }, rows));
}

function labels(scene) {
  const t = scene.tags;
  const decisions = t.decisions || {};
  const hidden = t.labels_hidden || 0;
  const editor = allowedTo("edit_metadata");
  const threshold = state.tagMinConfidence;
  const items = t.labels.map(([label, score]) => {
    const accepted = decisions[label] === "accept";
    return el("li", { class: `label${accepted ? " accepted" : ""}`, dataset: { label } },
      el("span", { class: "name" }, label), " ",
      el("span", { class: "confidence", title: "how sure the picture model is" }, pct(score)),
      accepted ? el("span", { class: "badge accepted", title: "accepted: in the asset's keywords" }, "accepted") : null,
      editor ? el("span", { class: "decide" },
        accepted ? null : el("button", { type: "button", class: "secondary small", "aria-label": `Accept ${label}`,
                                         title: "a person confirms it: it is added to the asset's keywords",
                                         onclick: (event) => decide(scene, label, "accept", event.currentTarget) }, "Accept"),
        el("button", { type: "button", class: "secondary small", "aria-label": `Reject ${label}`,
                       title: "wrong for this shot: never shown or searched for it again",
                       onclick: (event) => decide(scene, label, "reject", event.currentTarget) }, "Reject")) : null);
  });
  return [
    items.length ? el("ul", { class: "labels" }, items) : el("span", { class: "muted" }, "none to show"),
    hidden ? el("p", { class: "muted hidden-labels" },
      `${hidden} low-confidence tag${hidden === 1 ? "" : "s"} hidden`,
      threshold !== null && threshold !== undefined ? ` (under ${pct(threshold)})` : "", ".") : null,
  ];
}

async function decide(scene, label, decision, button) {
  const status = $("tags-status");
  for (const b of $("tags").querySelectorAll(".decide button")) b.disabled = true;
  status.textContent = decision === "accept" ? `Accepting “${label}”…` : `Rejecting “${label}”…`;
  try {
    const done = await api(`/api/v1/assets/${assetId}/scenes/${scene.index}/tags`,
                           { method: "POST", body: { label, decision, version: state.version.number } });
    const t = scene.tags;
    t.decisions = { ...(t.decisions || {}), [label]: decision };
    if (decision === "reject") t.labels = t.labels.filter(([name]) => name !== label);
    if (scene === shown) renderTags(scene);
    if (decision === "accept") {
      status.textContent = done.metadata_field
        ? `“${label}” added to ${fieldLabel(done.metadata_field)}.`
        : `“${label}” accepted (the metadata schema has no keywords field to add it to).`;
      if (done.metadata_field) await refreshMetadata().catch((err) => showError(err, "metadata"));
    } else {
      status.textContent = `“${label}” rejected: it is no longer shown or searched for shot ${scene.index + 1}.`;
    }
    // keep the keyboard where it was: the label's other button, else the next label's, else the panel
    const row = $("tags").querySelector(`li.label[data-label="${CSS.escape(label)}"] button`)
      || $("tags").querySelector(".decide button");
    (row || $("tags-title")).focus();
  } catch (err) {
    status.textContent = "";
    for (const b of $("tags").querySelectorAll(".decide button")) b.disabled = false;
    showError(err, `${decision} tag “${label}”`);
    if (button.isConnected) button.focus();
  }
}
