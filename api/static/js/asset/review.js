// Review decisions: the version's status under the approval rule, each reviewer's word, approve / request
// changes. A decision changes what can be delivered and the version list, so both are reloaded.
"use strict";

import { api, el, showError, when } from "../common.js";
import { loadDelivery } from "./delivery.js";
import { $, versionPath } from "./state.js";
import { refreshVersions } from "./versions.js";

export async function loadReview() {
  const review = await api(`${versionPath()}/reviews`);
  const words = { approved: "Approved", changes_requested: "Changes requested", in_review: "In review", not_reviewed: "Not reviewed yet" };
  const status = words[review.status] || review.status;
  $("review-status").replaceChildren(el("span", { class: `review review-${review.status}` }, status),
    review.approved_at ? ` by ${review.approved_by}, ${when(review.approved_at)}` : "");
  $("review-badge").textContent = status;
  $("review-badge").className = `review review-${review.status}`;
  $("review-rule").textContent = `Rule: ${review.rule.text}` + (review.missing.length ? ` Waiting for: ${review.missing.join(", ")}.` : "");
  $("review-decisions").replaceChildren(...review.decisions.map((d) =>
    el("li", {}, el("strong", {}, d.reviewer), ` ${d.decision === "approve" ? "approved" : "requested changes"} · ${when(d.created_at)}`,
      d.note ? el("q", {}, d.note) : null)));
  return review;
}

export function wireReview() {
  $("review-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "approve";
    try {
      await api(`${versionPath()}/reviews`, { method: "POST", body: { decision, note: $("review-note").value || null } });
      $("review-note").value = "";
      await Promise.all([loadReview(), loadDelivery(), refreshVersions()]);
    } catch (err) { showError(err, decision === "approve" ? "approve" : "request changes"); }
  });
}
