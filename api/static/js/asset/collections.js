// Collections: the asset's own collection and the others it is also in; editors add, move and remove.
"use strict";

import { api, el, showError } from "../common.js";
import { $, allowedTo, assetId } from "./state.js";

export function renderCollections(own, alsoIn) {
  const mayEdit = allowedTo("edit_metadata");
  $("collections").replaceChildren(
    el("li", {}, el("strong", {}, own), " (its own: where its watch folder put it, or where it was moved)"),
    ...alsoIn.map((name) => el("li", { dataset: { collection: name } }, name,
      mayEdit ? el("button", { type: "button", class: "link", "aria-label": `take it out of ${name}`,
                               onclick: () => changeCollection(name, null) }, " remove") : null)));
  $("collection-form").hidden = !mayEdit;
}

async function changeCollection(name, move) {
  try {
    const result = move === null
      ? await api(`/api/v1/assets/${assetId}/collections/${encodeURIComponent(name)}`, { method: "DELETE" })
      : await api(`/api/v1/assets/${assetId}/collections`, { method: "POST", body: { collection: name, move } });
    renderCollections(result.collection, result.also_in);
  } catch (err) { showError(err, "collections"); }
}

export function wireCollections() {
  $("collection-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const move = event.submitter ? event.submitter.value === "true" : false;
    changeCollection($("collection-name").value.trim(), move).then(() => { $("collection-name").value = ""; });
  });
}
