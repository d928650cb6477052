// The asset page's shared state, in one place: what is loaded, the frame shown, the comment range, the range
// being logged, who is signed in; the video element; and the small helpers every section uses. Imports no other
// section.
"use strict";

import { Clock } from "../timecode.js";

export const $ = (id) => document.getElementById(id);
export const video = $("player");
export const assetId = Number(location.pathname.split("/").pop());
export const query = new URLSearchParams(location.search);

export const state = {
  asset: null, version: null, clock: new Clock(), frames: 0,
  frame: 0,            // the frame shown now (exact when paused; from the compositor while playing)
  scenes: [], segments: [], comments: [], qc: null,
  tagMinConfidence: null,  // the farm's threshold under which keyframe labels are hidden
  rangeIn: null, rangeOut: null,
  logs: [], logIn: null, logOut: null,   // logged ranges of the version shown; the range being marked
  reverse: null, reverseSpeed: 0, me: null,
};

export function lastFrame() { return Math.max(0, state.frames - 1); }

export function versionPath() { return `/api/v1/assets/${assetId}/versions/${state.version.number}`; }

export function allowedTo(action) { return Boolean(state.me && state.me.can && state.me.can.includes(action)); }
