// The asset's technical metadata, its versions (list and picker) and what changed since the previous one.
"use strict";

import { api, duration, el, showError, when } from "../common.js";
import { $, assetId, state } from "./state.js";

export function renderMetadata(version) {
  const info = version.media_info || {};
  const v = (info.video || [])[0];
  const a = (info.audio || [])[0];
  const rows = [
    ["File", version.original_name], ["Size", `${(version.size / 1e6).toFixed(1)} MB`],
    ["Container", info.container_long || info.container], ["Duration", duration(info.duration_s)],
    ["Start timecode", info.start_timecode || "none (00:00:00:00 shown)"],
    v && ["Video", `${v.codec} ${v.profile || ""} ${v.width}×${v.height} ${v.pix_fmt || ""}`],
    v && ["Frame rate", `${v.frame_rate_float ? v.frame_rate_float.toFixed(3).replace(/\.?0+$/, "") : "?"} fps${v.vfr ? " (variable)" : ""}`],
    v && ["Scan", `${v.scan_type || v.field_order || "?"}`],
    a && ["Audio", `${a.codec} ${a.channels} ch ${a.channel_layout || ""} ${a.sample_rate} Hz`],
    ["Content hash", version.content_hash],
    ["Ingested from", `${version.source_folder} · ${when(version.created_at)}`],
  ].filter(Boolean);
  $("metadata").replaceChildren(...rows.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, val ?? "–")]));
  for (const [id, url] of [["contact-sheet", version.contact_sheet_url], ["waveform", version.waveform_url]]) {
    $(id).hidden = !url;  // never a link that would answer 404
    if (url) $(id).href = url; else $(id).removeAttribute("href");
  }
}

export function renderVersions(asset, version) {
  $("version-select").replaceChildren(...asset.versions.map((v) =>
    el("option", { value: v.number, selected: v.number === version.number }, `v${v.number} · ${v.status}`)));
  $("versions").replaceChildren(...asset.versions.map((v) =>
    el("li", { class: v.number === version.number ? "current" : "" },
      el("a", { href: `/assets/${asset.id}?v=${v.number}`, "aria-current": v.number === version.number ? "page" : null },
        `v${v.number}`), ` ${v.original_name} · ${when(v.created_at)} · ${v.status}`,
      v.review_status ? ` · ${v.review_status.replace("_", " ")}` : "",
      v.comment_count ? ` · ${v.comment_count} open comment(s)` : "")));
}

export async function refreshVersions() {
  state.asset = await api(`/api/v1/assets/${assetId}`);
  renderVersions(state.asset, state.version);
}

export async function loadChanges(version) {
  const box = $("changes");
  if (version.number === 1) { box.replaceChildren(); return; }
  try {
    const diff = await api(`/api/v1/assets/${assetId}/versions/${version.number}/changes`);
    const rows = diff.changes.map((c) => el("tr", {}, el("th", { scope: "row" }, c.label), el("td", {}, String(c.before ?? "–")), el("td", {}, String(c.after ?? "–"))));
    box.replaceChildren(el("h3", {}, `What changed since v${diff.against}`),
      rows.length ? el("table", { class: "changes" }, el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, `v${diff.against}`), el("th", {}, `v${diff.version}`))), el("tbody", {}, rows))
        : el("p", { class: "muted" }, "Nothing that we measure changed."));
  } catch (err) { showError(err, "what changed"); }
}

export function wireVersions() {
  $("version-select").addEventListener("change", (event) => location.assign(`/assets/${assetId}?v=${event.target.value}`));
}
