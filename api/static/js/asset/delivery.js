// The delivery panel: presets and targets, Render, each rendition's progress (polled while any is busy),
// QC report, refusals by rights, and the download link once the version is approved.
"use strict";

import { api, el, showError } from "../common.js";
import { $, allowedTo, assetId, state, versionPath } from "./state.js";

let deliveryTimer = null;
let presetsLoaded = false;

function qcTable(qc) {
  if (!qc || !qc.checks) return null;
  return el("details", { class: "qc" }, el("summary", {}, `QC ${qc.passed ? "passed" : "failed"} (${qc.checks.filter((c) => c.passed).length}/${qc.checks.length} checks)`),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "check"), el("th", {}, "expected"), el("th", {}, "measured"), el("th", {}, ""))),
      el("tbody", {}, qc.checks.map((c) => el("tr", { class: c.passed ? "" : "fail" },
        el("td", {}, c.name), el("td", {}, c.expected), el("td", {}, c.actual), el("td", {}, c.passed ? "✓" : "✗ failed",
          c.advice ? el("p", { class: "advice" }, `What to do: ${c.advice}`) : null))))));
}

function renditionItem(r, approved) {
  const busy = !["ready", "rejected", "failed"].includes(r.status);
  return el("li", { class: "rendition", dataset: { renditionId: r.id, preset: r.preset, status: r.status } },
    el("strong", {}, r.preset), " ", el("span", { class: `status status-${r.status}` }, r.status),
    busy && r.progress !== null ? el("progress", { max: "1", value: String(r.progress || 0), "aria-label": `${r.preset} progress` }) : null,
    r.error ? el("p", { class: "error" }, r.error) : null,
    r.targets && r.targets.length ? el("span", { class: "muted" }, ` → ${r.targets.join(", ")}`) : null,
    (r.refused || []).map((x) => el("p", { class: "warn refused", dataset: { target: x.target } },
      `${x.target} cannot take it: ${x.reason}`)),
    r.download_url && approved && allowedTo("download_rendition") ? el("a", { href: r.download_url, download: "", class: "download" }, `Download (${(r.size / 1e6).toFixed(1)} MB)`) : null,
    r.download_url && !approved ? el("span", { class: "muted" }, " · download once the version is approved") : null,
    qcTable(r.qc));
}

export async function loadDelivery() {
  clearTimeout(deliveryTimer);
  const panel = await api(`${versionPath()}/delivery`);
  $("delivery-state").replaceChildren(panel.approved
    ? el("span", { class: "ok" }, "Approved: renditions can be delivered.")
    : el("span", { class: "warn" }, "Not approved: renditions can be rendered and checked, not delivered."));
  if (!presetsLoaded) {
    $("preset").replaceChildren(...panel.presets.map((p) => el("option", { value: p.name }, `${p.name} — ${p.title}`)));
    presetsLoaded = true;
  }
  $("delivery-targets").textContent = panel.targets.length
    ? `Targets: ${panel.targets.map((t) => `${t.name} (${t.kind}: ${t.presets.join(", ")})`).join("; ")}`
    : "No distribution targets configured.";
  $("renditions").replaceChildren(...panel.renditions.map((r) => renditionItem(r, panel.approved)));
  if (panel.renditions.some((r) => !["ready", "rejected", "failed"].includes(r.status))) {
    deliveryTimer = setTimeout(() => loadDelivery().catch((err) => showError(err, "delivery")), 1500);
  }
}

export function wireDelivery() {
  $("render-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/v1/assets/${assetId}/renditions`, { method: "POST", body: { preset: $("preset").value, version: state.version.number } });
      await loadDelivery();
    } catch (err) { showError(err, "render"); }
  });
}
