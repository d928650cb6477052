// The inbox: approval stages due from the caller (a link to the asset page, where they decide), and actions rules
// held for a person (hold_for_a_person) on assets the caller may see, with Approve
// (the held actions run now) and Refuse, and what was decided lately; polled every few seconds.
"use strict";

import { api, el, showError, when, whoAmI } from "./common.js";

const POLL_MS = 4000;
let timer = null;

async function decide(h, decision, row) {
  const note = row.querySelector("input").value.trim() || null;
  row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    const done = await api(`/api/v1/held/${h.id}`, { method: "POST", body: { decision, note } });
    document.getElementById("live").textContent =
      `${h.rule} on ${h.asset_name}: ${done.status}${done.outcome ? ` — ${done.outcome}` : ""}`;
    refresh();
  } catch (err) {
    row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    showError(err, "deciding");
  }
}

function held(h) {
  const row = el("li", { dataset: { held: String(h.id), rule: h.rule } });
  const approve = el("button", { type: "button", class: "primary" }, "Approve");
  const refuse = el("button", { type: "button" }, "Refuse");
  approve.addEventListener("click", () => decide(h, "approve", row));
  refuse.addEventListener("click", () => decide(h, "refuse", row));
  row.append(el("strong", {}, h.question), el("br"),
    el("a", { href: `/assets/${h.asset_id}` }, h.asset_name), ` v${h.version} · rule ${h.rule} · `,
    el("time", { datetime: h.created_at }, when(h.created_at)), el("br"),
    `Then: ${h.actions.join("; ")}`, el("br"),
    el("input", { type: "text", maxlength: "2000", placeholder: "note (optional)", "aria-label": `note on ${h.rule}` }),
    " ", approve, " ", refuse);
  return row;
}

function review(r) {
  const s = r.stage;
  return el("li", { dataset: { request: String(r.request_id), stage: s.name } },
    el("a", { href: `/assets/${r.asset_id}?v=${r.version}` }, r.asset_name), ` v${r.version} · `,
    el("strong", {}, `${r.label}: ${s.name}`), ` for ${r.channels.join(", ")}`,
    s.approvals.length ? ` · approved so far by ${s.approvals.join(", ")}` : "",
    s.due_at ? el("span", { class: s.overdue ? "error" : "muted" }, ` · due ${when(s.due_at)}${s.overdue ? " (overdue)" : ""}`) : "");
}

function decided(h) {
  return el("li", { dataset: { held: String(h.id), status: h.status } },
    el("a", { href: `/assets/${h.asset_id}` }, h.asset_name), ` · ${h.question} · `,
    el("span", { class: `status status-${h.status === "approved" ? "ready" : "failed"}` }, h.status),
    ` by ${h.decided_by} ${when(h.decided_at)}`, h.outcome ? el("br") : null, h.outcome || "");
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [waiting, approved, refused] = await Promise.all(["waiting", "approved", "refused"].map((s) =>
      api(`/api/v1/inbox?status=${s}`)));
    document.getElementById("reviews").replaceChildren(...waiting.reviews.map(review));
    document.getElementById("no-reviews").hidden = waiting.reviews.length > 0;
    document.getElementById("held").replaceChildren(...waiting.held.map(held));
    document.getElementById("no-held").hidden = waiting.held.length > 0;
    const recent = [...approved.held, ...refused.held].sort((a, b) => (b.decided_at || "").localeCompare(a.decided_at || ""));
    document.getElementById("decided").replaceChildren(...recent.slice(0, 20).map(decided));
  } catch (err) {
    showError(err, "loading the inbox");
  }
  timer = setTimeout(refresh, POLL_MS);
}

whoAmI().then((me) => {  // a reviewer releases no held actions: those sections are for editors and admins
  const delivers = ["admin", "editor"].includes(me.role);
  document.getElementById("held-section").hidden = !delivers;
  document.getElementById("decided-section").hidden = !delivers;
}).catch((err) => showError(err, "who am I"));
refresh();
