// The frame-accurate player and its transport: seeking to a frame, the source timecode, J/K/L shuttle
// (backwards on a timer), go to timecode, clicks on the timeline. What else follows the frame shown (scenes,
// transcript) registers with onFrameShown.
"use strict";

import { showError } from "../common.js";
import { $, lastFrame, state, video } from "./state.js";

const followers = [];

// fn(frame) runs each time the shown frame is drawn (in the order registered)
export function onFrameShown(fn) { followers.push(fn); }

export function seekFrame(frame) {
  stopReverse();
  video.pause();
  frame = Math.min(Math.max(0, Math.round(frame)), lastFrame());
  state.frame = frame;
  video.currentTime = (frame + 0.5) / state.clock.fps;  // mid-frame: the decoder shows exactly this frame
  showTime();
}

export function seekSeconds(seconds) { seekFrame(state.clock.nearestFrame(seconds)); }

export function step(frames) { seekFrame(currentFrame() + frames); }

export function currentFrame() {
  return video.paused && state.reverse === null ? state.frame : state.clock.frameAt(video.currentTime);
}

export function showTime() {
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
  for (const follow of followers) follow(frame);
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

function showSpeed() {
  let text = "paused";
  if (state.reverse !== null) text = `◀◀ ${state.reverseSpeed}×`;
  else if (!video.paused) text = `▶ ${video.playbackRate}×`;
  $("speed").textContent = text;
}

function stopReverse() {
  if (state.reverse !== null) { clearInterval(state.reverse); state.reverse = null; state.reverseSpeed = 0; showSpeed(); }
}

export function shuttleForward() {
  if (state.reverse !== null) { stopReverse(); }
  if (video.paused) { video.playbackRate = 1; video.play().catch((err) => showError(err, "play")); }
  else video.playbackRate = Math.min(8, video.playbackRate * 2);
  showSpeed();
}

export function shuttleBackward() {
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

export function playPause() {
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

// the video element's events: keep the frame index and the speed shown in step with playback
export function wirePlayer() {
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
}

// the transport buttons, go to timecode, and clicks and Page Up/Down on the timeline
export function wireTransport() {
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
    if (event.target.closest(".marker, .logmark")) return;  // they seek on their own
    const box = timeline.getBoundingClientRect();
    seekFrame(((event.clientX - box.left) / box.width) * state.frames);
  });
  timeline.addEventListener("keydown", (event) => {
    if (event.key === "PageUp" || event.key === "PageDown") {
      event.preventDefault();
      step((event.key === "PageUp" ? -1 : 1) * Math.round(state.clock.fps * 10));
    }
  });
}
