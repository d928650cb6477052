// Rights: what applies to this version and where it comes from, each target's verdict now, and the small
// form in which editors change the asset's rights (which can change what may be delivered).
"use strict";

import { api, el, showError } from "../common.js";
import { loadDelivery } from "./delivery.js";
import { $, assetId, state } from "./state.js";

const LEVELS = {
  version: "This version's own rights (they override the asset's).",
  asset: "The asset's rights (this version has none of its own).",
};

function day(iso) { return iso ? iso.slice(0, 10) : ""; }

function renderRights(view) {
  $("rights-level").textContent = view.level ? LEVELS[view.level]
    : "No rights recorded: nothing restricts delivery.";
  const r = view.rights;
  const rows = r ? [
    ["Licence", r.licence || "–"], ["Source", r.source || "–"], ["Usage", r.usage || "–"],
    ["Territories", r.territories ? r.territories.join(", ") : "worldwide"],
    ["Channels", r.channels ? r.channels.join(", ") : "all"],
    ["Window", `${day(r.window_start) || "open"} – ${day(r.window_end) || "open"}`],
    ["Releases", `model ${r.model_release ? "✓" : "✗"} · location ${r.location_release ? "✓" : "✗"}`],
  ] : [];
  $("rights").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("rights-targets").replaceChildren(...view.targets.map((t) => {
    const reasons = [...new Set(t.presets.filter((p) => !p.allowed).map((p) => p.reason))];
    return el("li", { class: t.allowed ? "ok" : "warn", dataset: { target: t.name } },
      el("strong", {}, t.name), ` (${t.kind}${t.territory ? `, ${t.territory}` : ", worldwide"}): `,
      t.allowed ? "✓ allowed" : `✗ ${reasons.join("; ")}`);
  }));
  if (!view.targets.length) $("rights-targets").append(el("li", { class: "muted" }, "No distribution targets configured."));
  fillRightsForm(view.asset_rights);
}

function fillRightsForm(r) {
  const form = $("rights-form");
  for (const name of ["licence", "source", "usage"]) form[name].value = (r && r[name]) || "";
  form.territories.value = r && r.territories ? r.territories.join(", ") : "";
  for (const box of form.querySelectorAll("input[name=channels]")) box.checked = Boolean(r && r.channels && r.channels.includes(box.value));
  form.window_start.value = day(r && r.window_start);
  form.window_end.value = day(r && r.window_end);
  form.model_release.checked = Boolean(r && r.model_release);
  form.location_release.checked = Boolean(r && r.location_release);
}

export async function loadRights() {
  renderRights(await api(`/api/v1/assets/${assetId}/rights?version=${state.version.number}`));
}

export function wireRights() {
  $("rights-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const territories = form.territories.value.split(/[\s,;]+/).filter(Boolean);
    const channels = [...form.querySelectorAll("input[name=channels]:checked")].map((box) => box.value);
    const body = {
      licence: form.licence.value || null, source: form.source.value || null, usage: form.usage.value || null,
      territories: territories.length ? territories : null, channels: channels.length ? channels : null,
      window_start: form.window_start.value || null, window_end: form.window_end.value || null,
      model_release: form.model_release.checked, location_release: form.location_release.checked,
    };
    try {
      await api(`/api/v1/assets/${assetId}/rights`, { method: "PUT", body });
      await Promise.all([loadRights(), loadDelivery()]);
    } catch (err) { showError(err, "rights"); }
  });
}
