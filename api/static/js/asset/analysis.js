// What the analysis found: the scene strip, and for the current scene its tags (tags.js) and the shots like it
// (similar.js); the transcript (both follow playback; click to seek), and the loudness/QC report with its events.
"use strict";

import { el } from "../common.js";
import { seekFrame, seekSeconds } from "./player.js";
import { similarFor } from "./similar.js";
import { $, state } from "./state.js";
import { renderTags } from "./tags.js";
import { drawQc } from "./timeline.js";

export function renderScenes() {
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

export function followScene(frame) {
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
  similarFor(scene);
}

export function renderTranscript(transcript) {
  state.segments = transcript ? transcript.segments : [];
  // footage that switches language: say which, and label each line with its own
  const spoken = transcript ? Object.keys(transcript.languages || {}) : [];
  const several = spoken.length > 1;
  const languages = several ? spoken.join(", ") : (transcript && transcript.language) || "?";
  $("transcript-info").textContent = transcript
    ? `${languages} · ${transcript.model || ""} · ${state.segments.length} segment(s). Click a line to go there.`
    : "No transcript (yet, or no speech).";
  $("transcript").replaceChildren(...state.segments.map((s) =>
    el("li", { dataset: { index: s.index } },
      el("button", { type: "button", class: "line", onclick: () => seekSeconds(s.start_s), lang: s.language || undefined },
        el("span", { class: "tc" }, s.start_tc), " ",
        ...(several && s.language ? [el("span", { class: "lang", title: "spoken language" }, s.language), " "] : []),
        s.text))));
}

let shownSegment = -1;
export function followTranscript(seconds) {
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

// ------------------------------------------------------------------ QC

export function renderQc(qc) {
  state.qc = qc;
  drawQc();
  const box = $("qc");
  if (!qc) { box.replaceChildren(el("p", { class: "muted" }, "No loudness/QC report (yet).")); return; }
  const fmt = (v, unit) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} ${unit}`);
  const events = [];
  for (const kind of ["black", "freeze", "flash", "silence", "clipping"]) {
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
    events.length ? el("ul", { class: "events" }, events) : el("p", { class: "muted" }, "No black, freeze, flash, silence or clipping found."));
}
