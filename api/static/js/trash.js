// The trash: what was deleted (by whom, when, when the farm purges it, or what keeps it: a legal hold, retention),
// "Take out" to have an asset back, and for admins "Purge now" (asked twice: files and rows go for good).
"use strict";

import { api, el, showError, when, whoAmI } from "./common.js";

let me = { can: [] };

function say(text) { document.getElementById("live").textContent = text; }

async function act(row, path, done) {
  row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    await api(path, { method: "POST" });
    say(done);
    await refresh();
  } catch (err) {
    row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    showError(err, "trash");
  }
}

function purgeAsked(a, row) {
  const slot = row.querySelector(".purge-confirm");
  slot.replaceChildren(`Purge ${a.name} for good? Its files and catalog rows are removed; the audit trail keeps what it was. `,
    el("button", { type: "button", class: "danger", onclick: () => act(row, `/api/v1/trash/${a.asset_id}/purge`, `${a.name} purged.`) },
       "Purge for good"), " ",
    el("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren() }, "Cancel"));
}

function item(a) {
  const row = el("li", { dataset: { asset: String(a.asset_id) } });
  const recover = el("button", { type: "button", "aria-label": `take ${a.name} out of the trash`,
                                 onclick: () => act(row, `/api/v1/trash/${a.asset_id}/recover`, `${a.name} is back in the library.`) },
                     "Take out");
  const canPurge = (me.can || []).includes("manage_lifecycle");
  const purge = canPurge && !a.kept
    ? el("button", { type: "button", class: "secondary", "aria-label": `purge ${a.name} now`, onclick: () => purgeAsked(a, row) },
         "Purge now") : null;
  row.append(el("strong", {}, a.name), ` · deleted by ${a.deleted_by} `, el("time", { datetime: a.deleted_at }, when(a.deleted_at)),
    el("br"),
    a.kept ? el("span", { class: "kept" }, `Kept: ${a.kept}`)
           : el("span", { class: "muted" }, "Purged by the farm after ", el("time", { datetime: a.purge_after }, when(a.purge_after))),
    el("br"), recover, " ", purge, el("span", { class: "purge-confirm", role: "group" }));
  return row;
}

async function refresh() {
  const { assets } = await api("/api/v1/trash");
  document.getElementById("trash").replaceChildren(...assets.map(item));
  document.getElementById("empty").hidden = assets.length > 0;
  document.body.dataset.ready = "true";
}

whoAmI().then((who) => { me = who; return refresh(); }).catch((err) => showError(err, "trash"));
