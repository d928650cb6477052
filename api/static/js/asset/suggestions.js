// What agents suggested for the asset's metadata (through the MCP server): each value with who suggested it and
// why; people who may edit metadata Accept (it becomes theirs, the agent named in the history) or Reject it.
"use strict";

import { api, el, showError, when } from "../common.js";
import { loadMetadata } from "./metadata.js";
import { $, allowedTo, assetId } from "./state.js";

function shown(value) { return Array.isArray(value) ? value.join(", ") : String(value); }

async function decide(s, decision, row) {
  row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    await api(`/api/v1/suggestions/${s.id}`, { method: "POST", body: { decision } });
    await Promise.all([loadSuggestions(), decision === "accept" ? loadMetadata() : null]);
  } catch (err) {
    row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    showError(err, "deciding on a suggestion");
  }
}

function suggestion(s) {
  const row = el("li", { dataset: { suggestion: String(s.id), field: s.field } },
    el("strong", {}, s.field), `: ${shown(s.value)} `,
    el("small", { class: "muted" }, `— ${s.suggested_by}, ${s.provenance} · ${when(s.created_at)}`));
  if (allowedTo("edit_metadata")) {
    const accept = el("button", { type: "button", class: "link" }, "Accept");
    const reject = el("button", { type: "button", class: "link" }, "Reject");
    accept.addEventListener("click", () => decide(s, "accept", row));
    reject.addEventListener("click", () => decide(s, "reject", row));
    row.append(" ", accept, " ", reject);
  }
  return row;
}

export async function loadSuggestions() {
  const { suggestions } = await api(`/api/v1/assets/${assetId}/suggestions`);
  $("suggestions").replaceChildren(...suggestions.map(suggestion));
  $("suggestions-box").hidden = suggestions.length === 0;
}
