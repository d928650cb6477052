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
  const staged = review.approvals.some((a) => a.template !== "default" || a.stages.length > 1);
  $("review-stages").replaceChildren(...(staged ? review.approvals.map(approval) : []));
  $("review-decisions").replaceChildren(...review.decisions.map((d) =>
    el("li", {}, el("strong", {}, d.reviewer), ` ${d.decision === "approve" ? "approved" : "requested changes"} · ${when(d.created_at)}`,
      d.note ? el("q", {}, d.note) : null)));
  return review;
}

const STAGE_WORDS = { approved: "approved", open: "open", changes: "changes requested", waiting: "waiting",
  "not requested": "not requested yet" };

// One approval template governing some of the version's channels: its status and its stages, who is due, deadlines.
function approval(a) {
  const stages = a.stages.map((s) => el("li", { dataset: { stage: s.name, status: s.status } },
    el("strong", {}, s.name), " ", el("span", { class: `review review-${s.status === "approved" ? "approved" : s.status === "changes" ? "changes_requested" : "in_review"}` }, STAGE_WORDS[s.status] || s.status),
    ` · ${s.who}`,
    s.approvals.length ? ` · approved by ${s.approvals.join(", ")}` : "",
    s.changes.length ? ` · changes from ${s.changes.join(", ")}` : "",
    s.missing.length && s.status !== "waiting" ? ` · waiting for ${s.missing.join(", ")}` : "",
    s.due_at ? el("span", { class: s.overdue ? "error" : "muted" }, ` · due ${when(s.due_at)}${s.overdue ? " (overdue)" : ""}`) : ""));
  return el("div", { class: "approval", dataset: { template: a.template, status: a.status } },
    el("p", {}, el("strong", {}, a.channels.join(", ")), ` — ${a.label}: ${STAGE_WORDS[a.status] || a.status}`),
    el(a.parallel ? "ul" : "ol", { class: "stage-list" }, ...stages));
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
