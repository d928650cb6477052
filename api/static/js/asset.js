// The asset page: a frame-accurate proxy player with source timecode, scenes, transcript, comments at a
// frame, review decisions, QC markers, versions and the delivery panel. Everything goes through /api/v1.
"use strict";

import { api, duration, el, showError, when, whoAmI } from "./common.js";
import { Clock } from "./timecode.js";

const $ = (id) => document.getElementById(id);
const video = $("player");
const assetId = Number(location.pathname.split("/").pop());
const query = new URLSearchParams(location.search);

const state = {
  asset: null, version: null, clock: new Clock(), frames: 0,
  frame: 0,            // the frame shown now (exact when paused; from the compositor while playing)
  scenes: [], segments: [], comments: [], qc: null,
  rangeIn: null, rangeOut: null,
  reverse: null, reverseSpeed: 0, me: null,
};

// ------------------------------------------------------------------ player and time

function lastFrame() { return Math.max(0, state.frames - 1); }

function seekFrame(frame) {
  stopReverse();
  video.pause();
  frame = Math.min(Math.max(0, Math.round(frame)), lastFrame());
  state.frame = frame;
  video.currentTime = (frame + 0.5) / state.clock.fps;  // mid-frame: the decoder shows exactly this frame
  showTime();
}

function seekSeconds(seconds) { seekFrame(state.clock.nearestFrame(seconds)); }

function step(frames) { seekFrame(currentFrame() + frames); }

function currentFrame() {
  return video.paused && state.reverse === null ? state.frame : state.clock.frameAt(video.currentTime);
}

function showTime() {
  const frame = state.frame;
  $("tc").textContent = state.clock.timecode(frame);
  $("tc").dataset.frame = String(frame);
  $("frame-info").textContent = `frame ${frame} / ${lastFrame()} · ${state.clock.fps.toFixed(3).replace(/\.?0+$/, "")} fps`;
  if (!state.rangeIn && state.rangeIn !== 0) $("comment-at").textContent = state.clock.timecode(frame);
  const ratio = state.frames ? frame / state.frames : 0;
  $("playhead").style.left = `${(ratio * 100).toFixed(3)}%`;
  const timeline = $("timeline");
  timeline.setAttribute("aria-valuemax", String(lastFrame()));
  timeline.setAttribute("aria-valuenow", String(frame));
  timeline.setAttribute("aria-valuetext", state.clock.timecode(frame));
  followScene(frame);
  followTranscript(frame / state.clock.fps);
}

function onFrame(_now, metadata) {
  // the frame the compositor presents: exact while playing (Chromium, Firefox ≥ 132). While paused or
  // stepping backwards the page's own frame index is the truth: a presentation can lag a quick series of
  // seeks, and must not pull the timecode back to a frame the user already stepped past.
  if (!video.paused && state.reverse === null) {
    state.frame = Math.min(lastFrame(), Math.round(metadata.mediaTime * state.clock.fps));
    showTime();
  }
  video.requestVideoFrameCallback(onFrame);
}

if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) video.requestVideoFrameCallback(onFrame);
else {
  video.addEventListener("timeupdate", () => {
    if (!video.paused && state.reverse === null) { state.frame = state.clock.frameAt(video.currentTime); showTime(); }
  });
}
video.addEventListener("seeked", () => {
  if (!video.paused || state.reverse !== null) state.frame = state.clock.frameAt(video.currentTime);
  showTime();
});
video.addEventListener("pause", () => {
  if (state.reverse === null) { state.frame = state.clock.frameAt(video.currentTime); showTime(); }
  showSpeed();
});
video.addEventListener("play", showSpeed);
video.addEventListener("ratechange", showSpeed);

function showSpeed() {
  let text = "paused";
  if (state.reverse !== null) text = `◀◀ ${state.reverseSpeed}×`;
  else if (!video.paused) text = `▶ ${video.playbackRate}×`;
  $("speed").textContent = text;
}

function stopReverse() {
  if (state.reverse !== null) { clearInterval(state.reverse); state.reverse = null; state.reverseSpeed = 0; showSpeed(); }
}

function shuttleForward() {
  if (state.reverse !== null) { stopReverse(); }
  if (video.paused) { video.playbackRate = 1; video.play().catch((err) => showError(err, "play")); }
  else video.playbackRate = Math.min(8, video.playbackRate * 2);
  showSpeed();
}

function shuttleBackward() {
  // browsers do not play backwards: step back on a timer, faster each press
  video.pause();
  state.reverseSpeed = state.reverse === null ? 1 : Math.min(8, state.reverseSpeed * 2);
  clearInterval(state.reverse);
  const tick = 40;
  state.reverse = setInterval(() => {
    const frame = Math.max(0, state.frame - Math.max(1, Math.round(state.reverseSpeed * state.clock.fps * tick / 1000)));
    state.frame = frame;
    video.currentTime = (frame + 0.5) / state.clock.fps;
    showTime();
    if (frame === 0) stopReverse();
  }, tick);
  showSpeed();
}

function playPause() {
  if (state.reverse !== null) { stopReverse(); seekFrame(state.frame); return; }
  if (video.paused) { video.playbackRate = 1; video.play().catch((err) => showError(err, "play")); }
  else video.pause();
}

function jumpTo(text) {
  let frame;
  try { frame = state.clock.frameOf(text); } catch (err) { showError(err, "go to timecode"); return; }
  if (frame < 0 || frame > lastFrame()) {
    showError(`${text} is outside this clip (${state.clock.timecode(0)} – ${state.clock.timecode(lastFrame())})`,
              "go to timecode");
    return;
  }
  seekFrame(frame);
}

function wireTransport() {
  $("btn-start").addEventListener("click", () => seekFrame(0));
  $("btn-end").addEventListener("click", () => seekFrame(lastFrame()));
  $("btn-back").addEventListener("click", () => step(-1));
  $("btn-fwd").addEventListener("click", () => step(1));
  $("btn-j").addEventListener("click", shuttleBackward);
  $("btn-k").addEventListener("click", playPause);
  $("btn-l").addEventListener("click", shuttleForward);
  $("jump").addEventListener("submit", (event) => { event.preventDefault(); jumpTo(event.target.tc.value); });
  const timeline = $("timeline");
  timeline.addEventListener("click", (event) => {
    if (event.target.closest(".marker")) return;
    const box = timeline.getBoundingClientRect();
    seekFrame(((event.clientX - box.left) / box.width) * state.frames);
  });
  timeline.addEventListener("keydown", (event) => {
    if (event.key === "PageUp" || event.key === "PageDown") {
      event.preventDefault();
      step((event.key === "PageUp" ? -1 : 1) * Math.round(state.clock.fps * 10));
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const second = Math.round(state.clock.fps);
    const keys = {
      ArrowLeft: () => step(event.shiftKey ? -second : -1),
      ArrowRight: () => step(event.shiftKey ? second : 1),
      Home: () => seekFrame(0), End: () => seekFrame(lastFrame()),
      j: shuttleBackward, k: playPause, l: shuttleForward, " ": playPause,
      i: () => setIn(), o: () => setOut(), Escape: clearRange,
      c: () => $("comment-text").focus(),
    };
    const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    if (event.key === " " && event.target.closest("button, a, summary")) return;  // Space activates controls
    event.preventDefault();
    action();
  });
}

// ------------------------------------------------------------------ timeline layers

function pct(seconds) { return `${Math.min(100, (seconds * state.clock.fps / Math.max(1, state.frames)) * 100).toFixed(3)}%`; }

function drawQc() {
  const layer = $("timeline-qc");
  layer.replaceChildren();
  if (!state.qc) return;
  for (const kind of ["black", "freeze", "silence", "clipping"]) {
    for (const seg of state.qc[kind] || []) {
      const width = Math.max(0.4, (seg.end_s - seg.start_s) * state.clock.fps / Math.max(1, state.frames) * 100);
      layer.append(el("span", { class: `seg ${kind}`, style: `left:${pct(seg.start_s)};width:${width.toFixed(3)}%`,
                                title: `${kind} ${seg.start_tc} – ${seg.end_tc}` }));
    }
  }
}

function drawScenes() {
  const layer = $("timeline-scenes");
  layer.replaceChildren(...state.scenes.slice(1).map((s) =>
    el("span", { class: "cut", style: `left:${pct(s.start_s)}`, title: `cut at ${s.start_tc}` })));
}

function drawCommentMarkers() {
  const layer = $("timeline-comments");
  layer.replaceChildren(...state.comments.map((c) => {
    const label = `comment at ${c.start_tc}${c.end_tc ? ` to ${c.end_tc}` : ""} by ${c.author}: ${c.text}`;
    const width = c.end_frame !== null && c.end_frame !== undefined
      ? `width:${((c.end_frame - c.start_frame) / Math.max(1, state.frames) * 100).toFixed(3)}%;` : "";
    return el("button", { type: "button", class: `marker${c.resolved ? " resolved" : ""}${width ? " ranged" : ""}`,
                          style: `left:${(c.start_frame / Math.max(1, state.frames) * 100).toFixed(3)}%;${width}`,
                          "aria-label": label, title: label, dataset: { frame: c.start_frame, commentId: c.id },
                          onclick: () => seekFrame(c.start_frame) });
  }));
}

// ------------------------------------------------------------------ scenes, transcript, tags

function renderScenes() {
  $("scenes").replaceChildren(...state.scenes.map((s) =>
    el("li", { dataset: { index: s.index } },
      el("button", { type: "button", class: "scene", onclick: () => seekFrame(s.start_frame ?? state.clock.nearestFrame(s.start_s)),
                     "aria-label": `scene ${s.index + 1} at ${s.start_tc}` },
        s.keyframe_url ? el("img", { src: s.keyframe_url, alt: "", width: "128", height: "72", loading: "lazy" })
          : el("span", { class: "no-poster" }, "–"),
        el("span", { class: "tc" }, s.start_tc)))));
  if (!state.scenes.length) $("scenes").append(el("li", { class: "muted" }, "No scenes (yet)."));
}

let shownScene = -1;
function sceneAt(frame) {
  const seconds = frame / state.clock.fps;
  let found = null;
  for (const s of state.scenes) if (s.start_s <= seconds + 1e-6) found = s;
  return found;
}

function followScene(frame) {
  const scene = sceneAt(frame);
  const index = scene ? scene.index : -1;
  if (index === shownScene) return;
  shownScene = index;
  for (const item of $("scenes").children) {
    const current = Number(item.dataset.index) === index;
    item.classList.toggle("current", current);
    const button = item.querySelector("button");
    if (button) { if (current) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current"); }
  }
  renderTags(scene);
}

function renderTags(scene) {
  const box = $("tags");
  if (!scene || !scene.tags || !Object.keys(scene.tags).length) {
    box.replaceChildren(el("p", { class: "muted" }, scene ? "No tags for this scene (yet)." : "No scene here."));
    return;
  }
  const t = scene.tags;
  const rows = [];
  const add = (label, value) => { if (value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && !value.length)) rows.push(el("dt", {}, label), el("dd", {}, value)); };
  add("Scene", `${scene.index + 1}: ${scene.start_tc} – ${scene.end_tc}`);
  add("Labels", (t.labels || []).map(([label, score]) => `${label} (${Math.round(score * 100)}%)`).join(", "));
  add("Faces", t.faces);
  add("On-screen text", t.text);
  add("Colours", (t.colors || []).map(([hex, share]) =>
    el("span", { class: "chip", style: `background:${hex}`, title: `${hex}: ${Math.round(share * 100)}% of the frame` }, `${Math.round(share * 100)}%`)));
  const flags = ["black", "blurry"].filter((f) => t[f]);
  add("Flags", flags.join(", "));
  box.replaceChildren(el("dl", { class: "metadata" }, rows));
}

function renderTranscript(transcript) {
  state.segments = transcript ? transcript.segments : [];
  $("transcript-info").textContent = transcript
    ? `${transcript.language || "?"} · ${transcript.model || ""} · ${state.segments.length} segment(s). Click a line to go there.`
    : "No transcript (yet, or no speech).";
  $("transcript").replaceChildren(...state.segments.map((s) =>
    el("li", { dataset: { index: s.index } },
      el("button", { type: "button", class: "line", onclick: () => seekSeconds(s.start_s) },
        el("span", { class: "tc" }, s.start_tc), " ", s.text))));
}

let shownSegment = -1;
function followTranscript(seconds) {
  const seg = state.segments.find((s) => s.start_s <= seconds && seconds < s.end_s);
  const index = seg ? seg.index : -1;
  if (index === shownSegment) return;
  shownSegment = index;
  const list = $("transcript");
  for (const item of list.children) {
    const current = Number(item.dataset.index) === index;
    item.classList.toggle("current", current);
    if (current) list.scrollTop = item.offsetTop - list.offsetTop - list.clientHeight / 3;  // the list, not the page
  }
}

// ------------------------------------------------------------------ QC, metadata, versions

function renderQc(qc) {
  state.qc = qc;
  drawQc();
  const box = $("qc");
  if (!qc) { box.replaceChildren(el("p", { class: "muted" }, "No loudness/QC report (yet).")); return; }
  const fmt = (v, unit) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} ${unit}`);
  const events = [];
  for (const kind of ["black", "freeze", "silence", "clipping"]) {
    for (const seg of qc[kind] || []) {
      events.push(el("li", {}, el("button", { type: "button", class: "link", onclick: () => seekSeconds(seg.start_s) },
        el("span", { class: `swatch ${kind}` }), ` ${kind} ${seg.start_tc} – ${seg.end_tc}`)));
    }
  }
  box.replaceChildren(
    el("dl", { class: "metadata" },
      el("dt", {}, "Integrated (EBU R128)"), el("dd", {}, fmt(qc.integrated_lufs, "LUFS")),
      el("dt", {}, "Loudness range"), el("dd", {}, fmt(qc.loudness_range_lu, "LU")),
      el("dt", {}, "True peak"), el("dd", {}, fmt(qc.true_peak_dbtp, "dBTP"))),
    events.length ? el("ul", { class: "events" }, events) : el("p", { class: "muted" }, "No black, freeze, silence or clipping found."));
}

function renderMetadata(version) {
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

function renderVersions(asset, version) {
  $("version-select").replaceChildren(...asset.versions.map((v) =>
    el("option", { value: v.number, selected: v.number === version.number }, `v${v.number} · ${v.status}`)));
  $("versions").replaceChildren(...asset.versions.map((v) =>
    el("li", { class: v.number === version.number ? "current" : "" },
      el("a", { href: `/assets/${asset.id}?v=${v.number}`, "aria-current": v.number === version.number ? "page" : null },
        `v${v.number}`), ` ${v.original_name} · ${when(v.created_at)} · ${v.status}`,
      v.review_status ? ` · ${v.review_status.replace("_", " ")}` : "",
      v.comment_count ? ` · ${v.comment_count} open comment(s)` : "")));
}

async function refreshVersions() {
  state.asset = await api(`/api/v1/assets/${assetId}`);
  renderVersions(state.asset, state.version);
}

async function loadChanges(version) {
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

// ------------------------------------------------------------------ comments

function versionPath() { return `/api/v1/assets/${assetId}/versions/${state.version.number}`; }

function setIn() { state.rangeIn = currentFrame(); state.rangeOut = null; showRange(); }
function setOut() {
  const frame = currentFrame();
  if (state.rangeIn === null || frame <= state.rangeIn) { showError("set an in point before the out point (I, then O)", "range"); return; }
  state.rangeOut = frame; showRange();
}
function clearRange() { state.rangeIn = null; state.rangeOut = null; showRange(); }

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

async function loadComments() {
  const { comments } = await api(`${versionPath()}/comments`);
  state.comments = comments;
  const showResolved = $("show-resolved").checked;
  const shown = comments.filter((c) => showResolved || !c.resolved);
  $("comments").replaceChildren(...shown.map((c) => commentItem(c)));
  if (!shown.length) $("comments").append(el("li", { class: "muted" }, "No comments yet."));
  drawCommentMarkers();
}

function wireComments() {
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

// ------------------------------------------------------------------ review

async function loadReview() {
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

function wireReview() {
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

// ------------------------------------------------------------------ delivery

let deliveryTimer = null;
let presetsLoaded = false;

function qcTable(qc) {
  if (!qc || !qc.checks) return null;
  return el("details", { class: "qc" }, el("summary", {}, `QC ${qc.passed ? "passed" : "failed"} (${qc.checks.filter((c) => c.passed).length}/${qc.checks.length} checks)`),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "check"), el("th", {}, "expected"), el("th", {}, "measured"), el("th", {}, ""))),
      el("tbody", {}, qc.checks.map((c) => el("tr", { class: c.passed ? "" : "fail" },
        el("td", {}, c.name), el("td", {}, c.expected), el("td", {}, c.actual), el("td", {}, c.passed ? "✓" : "✗ failed"))))));
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

async function loadDelivery() {
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

function wireDelivery() {
  $("render-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/v1/assets/${assetId}/renditions`, { method: "POST", body: { preset: $("preset").value, version: state.version.number } });
      await loadDelivery();
    } catch (err) { showError(err, "render"); }
  });
}

// ------------------------------------------------------------------ rights

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

async function loadRights() {
  renderRights(await api(`/api/v1/assets/${assetId}/rights?version=${state.version.number}`));
}

function wireRights() {
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

// ------------------------------------------------------------------ collections

function renderCollections(own, alsoIn) {
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

$("collection-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const move = event.submitter ? event.submitter.value === "true" : false;
  changeCollection($("collection-name").value.trim(), move).then(() => { $("collection-name").value = ""; });
});

// ------------------------------------------------------------------ loading

async function optional(path) {
  try { return await api(path); } catch (err) { if (err.status === 404) return null; throw err; }
}

function allowedTo(action) { return Boolean(state.me && state.me.can && state.me.can.includes(action)); }

function showOnlyWhatTheRoleMayDo() {
  // the API refuses anyway (catalog/permissions.py); the page does not offer what would be refused
  $("comment-form").hidden = !allowedTo("comment");
  $("review-form").hidden = !allowedTo("approve");
  $("render-form").hidden = !allowedTo("deliver");
  if (!allowedTo("comment")) $("comments-title").after(el("p", { class: "muted" }, `Your role (${state.me.role}) may read comments, not write them.`));
}

async function load() {
  state.me = await whoAmI();
  showOnlyWhatTheRoleMayDo();
  const asset = await api(`/api/v1/assets/${assetId}`);
  state.asset = asset;
  const wanted = Number(query.get("v")) || asset.versions[asset.versions.length - 1].number;
  const version = asset.versions.find((v) => v.number === wanted) || asset.versions[asset.versions.length - 1];
  state.version = version;
  document.title = `${asset.name} · Rushes`;
  $("asset-name").textContent = asset.name;
  $("asset-status").textContent = version.status;
  $("asset-status").className = `status status-${version.status}`;
  state.clock = new Clock(version.clock || {});
  const seconds = (version.proxy && version.proxy.duration_s) || (version.media_info && version.media_info.duration_s) || 0;
  state.frames = Math.max(1, Math.round(seconds * state.clock.fps));
  renderVersions(asset, version);
  renderMetadata(version);
  renderCollections(asset.collection, asset.also_in || []);
  const v = `?version=${version.number}`;
  $("export-csv").href = `${versionPath()}/comments.csv`;
  $("export-edl").href = `${versionPath()}/comments.edl`;
  $("export-otio").href = `${versionPath()}/comments.otio`;

  if (version.proxy_url) {
    video.src = version.proxy_url;
    const still = version.poster_url || version.waveform_url;  // sound only: the waveform stands in
    if (still) video.poster = still;
  } else {
    showError(`version ${version.number} has no proxy yet (${version.status})`, "player");
  }
  const [scenes, transcript, qc] = await Promise.all([
    optional(`/api/v1/assets/${assetId}/scenes${v}`), optional(`/api/v1/assets/${assetId}/transcript${v}`),
    optional(`/api/v1/assets/${assetId}/qc${v}`)]);
  state.scenes = scenes ? scenes.scenes : [];
  renderScenes(); drawScenes(); renderTranscript(transcript); renderQc(qc);
  const start = query.has("t") ? state.clock.nearestFrame(Number(query.get("t"))) : 0;
  const ready = () => { if (video.duration) state.frames = Math.max(1, Math.round(video.duration * state.clock.fps)); seekFrame(start); drawAll(); document.body.dataset.ready = "true"; };
  if (video.readyState >= 1) ready(); else video.addEventListener("loadedmetadata", ready, { once: true });
  if (!version.proxy_url) { seekFrame(0); document.body.dataset.ready = "true"; }
  $("rights-edit").hidden = !allowedTo("edit_metadata");
  await Promise.all([[loadComments(), "comments"], [loadReview(), "review"], [loadDelivery(), "delivery"],
                     [loadRights(), "rights"],
                     [loadChanges(version), "what changed"]].map(([p, where]) => p.catch((err) => showError(err, where))));
}

function drawAll() { drawQc(); drawScenes(); drawCommentMarkers(); showTime(); }

$("version-select").addEventListener("change", (event) => location.assign(`/assets/${assetId}?v=${event.target.value}`));
wireTransport(); wireComments(); wireReview(); wireDelivery(); wireRights();
load().catch((err) => showError(err, "loading the asset"));
