// The timeline's layers under the playhead: QC events, scene cuts, comment markers and logged ranges
// (click to seek).
"use strict";

import { el } from "../common.js";
import { seekFrame } from "./player.js";
import { $, state } from "./state.js";

function pct(seconds) { return `${Math.min(100, (seconds * state.clock.fps / Math.max(1, state.frames)) * 100).toFixed(3)}%`; }

export function drawQc() {
  const layer = $("timeline-qc");
  layer.replaceChildren();
  if (!state.qc) return;
  for (const kind of ["black", "freeze", "flash", "silence", "clipping"]) {
    for (const seg of state.qc[kind] || []) {
      const width = Math.max(0.4, (seg.end_s - seg.start_s) * state.clock.fps / Math.max(1, state.frames) * 100);
      layer.append(el("span", { class: `seg ${kind}`, style: `left:${pct(seg.start_s)};width:${width.toFixed(3)}%`,
                                title: `${kind} ${seg.start_tc} – ${seg.end_tc}` }));
    }
  }
}

export function drawScenes() {
  const layer = $("timeline-scenes");
  layer.replaceChildren(...state.scenes.slice(1).map((s) =>
    el("span", { class: "cut", style: `left:${pct(s.start_s)}`, title: `cut at ${s.start_tc}` })));
}

export function drawCommentMarkers() {
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

export function drawLogMarks() {
  const layer = $("timeline-logs");
  const frames = Math.max(1, state.frames);
  layer.replaceChildren(...state.logs.map((log) => {
    const label = `logged range ${log.in_tc} – ${log.out_tc}`;
    const width = Math.max(0.4, (log.out_frame - log.in_frame) / frames * 100);
    return el("button", { type: "button", class: "logmark", "aria-label": label, title: label,
                          style: `left:${(log.in_frame / frames * 100).toFixed(3)}%;width:${width.toFixed(3)}%`,
                          dataset: { frame: log.in_frame, logId: log.id }, onclick: () => seekFrame(log.in_frame) });
  }));
}
