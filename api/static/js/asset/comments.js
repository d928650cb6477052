// Comments at the current frame or an I/O range: the list with replies, resolve/reopen, the form, and the
// markers they leave on the timeline.
"use strict";

import { api, el, showError, when } from "../common.js";
import { currentFrame, seekFrame } from "./player.js";
import { $, allowedTo, state, versionPath } from "./state.js";
import { drawCommentMarkers } from "./timeline.js";

export function setIn() { state.rangeIn = currentFrame(); state.rangeOut = null; showRange(); }
export function setOut() {
  const frame = currentFrame();
  if (state.rangeIn === null || frame <= state.rangeIn) { showError("set an in point before the out point (I, then O)", "range"); return; }
  state.rangeOut = frame; showRange();
}
export function clearRange() { state.rangeIn = null; state.rangeOut = null; showRange(); }

function showRange() {
  const range = $("timeline-range");
  if (state.rangeIn === null) { range.hidden = true; $("comment-at").textContent = state.clock.timecode(state.frame); return; }
  const end = state.rangeOut ?? state.rangeIn;
  range.hidden = false;
  range.style.left = `${(state.rangeIn / Math.max(1, state.frames) * 100).toFixed(3)}%`;
  range.style.width = `${(Math.max(1, end - state.rangeIn) / Math.max(1, state.frames) * 100).toFixed(3)}%`;
  $("comment-at").textContent = state.clock.timecode(state.rangeIn) + (state.rangeOut !== null ? ` – ${state.clock.timecode(state.rangeOut)}` : "");
}

function commentItem(c, isReply = false) {
  const item = el("li", { class: `comment${c.resolved ? " resolved" : ""}`, dataset: { commentId: c.id } });
  const head = el("div", { class: "comment-head" },
    isReply ? null : el("button", { type: "button", class: "tc link", onclick: () => seekFrame(c.start_frame),
                                    "aria-label": `go to ${c.start_tc}` }, c.start_tc + (c.end_tc ? ` – ${c.end_tc}` : "")),
    " ", el("strong", {}, c.author), " ", el("span", { class: "muted" }, when(c.created_at)),
    c.resolved ? el("span", { class: "badge" }, `resolved by ${c.resolved_by}`) : null);
  const body = el("p", { class: "comment-text" }, c.text);
  item.append(head, body);
  if (!isReply && allowedTo("comment")) {
    const actions = el("div", { class: "row" },
      el("button", { type: "button", class: "secondary small", onclick: () => toggleReply(item, c) }, "Reply"),
      el("button", { type: "button", class: "secondary small", onclick: () => resolve(c, !c.resolved) },
        c.resolved ? "Reopen" : "Resolve"));
    item.append(actions);
  }
  if (!isReply && c.replies && c.replies.length) item.append(el("ol", { class: "replies" }, c.replies.map((r) => commentItem(r, true))));
  return item;
}

function toggleReply(item, parent) {
  const open = item.querySelector("form.reply");
  if (open) { open.remove(); return; }
  const id = `reply-${parent.id}`;
  const form = el("form", { class: "reply" },
    el("label", { for: id }, `Reply to ${parent.author}`),
    el("textarea", { id, name: "text", rows: "2", required: true, maxlength: "5000" }),
    el("button", { type: "submit" }, "Send reply"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`${versionPath()}/comments`, { method: "POST", body: { text: form.text.value, parent_id: parent.id } });
      await loadComments();
    } catch (err) { showError(err, "reply"); }
  });
  item.append(form);
  form.text.focus();
}

async function resolve(c, resolved) {
  try {
    await api(`/api/v1/comments/${c.id}/resolve`, { method: "POST", body: { resolved } });
    await loadComments();
  } catch (err) { showError(err, resolved ? "resolve" : "reopen"); }
}

export async function loadComments() {
  const { comments } = await api(`${versionPath()}/comments`);
  state.comments = comments;
  const showResolved = $("show-resolved").checked;
  const shown = comments.filter((c) => showResolved || !c.resolved);
  $("comments").replaceChildren(...shown.map((c) => commentItem(c)));
  if (!shown.length) $("comments").append(el("li", { class: "muted" }, "No comments yet."));
  drawCommentMarkers();
}

export function wireComments() {
  $("btn-in").addEventListener("click", setIn);
  $("btn-out").addEventListener("click", setOut);
  $("btn-clear-range").addEventListener("click", clearRange);
  $("show-resolved").addEventListener("change", () => loadComments().catch((err) => showError(err, "comments")));
  $("comment-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const frame = state.rangeIn ?? currentFrame();
    const body = { text: form.text.value, frame, end_frame: state.rangeOut };
    try {
      await api(`${versionPath()}/comments`, { method: "POST", body });
      form.text.value = "";
      clearRange();
      await loadComments();
    } catch (err) { showError(err, "comment"); }
  });
}
