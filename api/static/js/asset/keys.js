// The page's keyboard shortcuts: ←/→ a frame (Shift: a second), Home/End, J/K/L and Space, I/O/Escape for
// a comment range, C to write a comment. Never while typing, nor with Ctrl, ⌘ or Alt.
"use strict";

import { clearRange, setIn, setOut } from "./comments.js";
import { playPause, seekFrame, shuttleBackward, shuttleForward, step } from "./player.js";
import { $, lastFrame, state } from "./state.js";

export function wireKeys() {
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
