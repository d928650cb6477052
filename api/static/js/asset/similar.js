// "Similar shots" for the current scene: the shots across the library whose keyframe looks like this one
// (GET /api/v1/scenes/{id}/similar), best first, each opening its asset at the shot's time; copies and re-encodes
// carry a "same material" badge. A shot not embedded yet says so in words.
"use strict";

import { api, el, showError } from "../common.js";
import { percent, shotList } from "../shots.js";
import { seekSeconds } from "./player.js";
import { $, assetId, state } from "./state.js";

const MIN_SIMILARITY = 0.6;  // the API's default: under it a shot is not offered as "like this one"
let current = null;          // the scene the button asks about
let asked = 0;               // the latest question: an older answer arriving late is dropped

// the button follows the scene at the playhead
export function similarFor(scene) {
  current = scene && scene.id !== undefined && scene.id !== null ? scene : null;
  const button = $("btn-similar");
  button.disabled = !current;
  button.textContent = current ? `Similar shots to scene ${current.index + 1}` : "Similar shots";
}

// a shot of the version on screen seeks in place; any other opens its asset's page at the shot
function open(shot, event) {
  if (shot.asset_id === assetId && state.version && shot.version === state.version.number) {
    event.preventDefault();
    seekSeconds(shot.start_s);
  }
}

async function showSimilar() {
  if (!current) return;
  const scene = current;
  const mine = ++asked;
  const panel = $("similar");
  const note = $("similar-note");
  const list = $("similar-shots");
  panel.hidden = false;
  panel.dataset.sceneId = String(scene.id);
  $("similar-title").textContent = `Shots like scene ${scene.index + 1} (${scene.start_tc} – ${scene.end_tc})`;
  list.replaceChildren();
  note.className = "muted";
  note.textContent = "Looking across the library…";
  try {
    const found = await api(`/api/v1/scenes/${scene.id}/similar?limit=24&min_similarity=${MIN_SIMILARITY}`);
    if (mine !== asked) return;
    list.replaceChildren(...shotList(found.shots, open));
    const same = found.shots.filter((s) => s.near_duplicate).length;
    note.textContent = found.shots.length
      ? `${found.shots.length} shot${found.shots.length === 1 ? "" : "s"} at least ${percent(MIN_SIMILARITY)} similar, best first` +
        (same ? `; ${same} the same material.` : ".")
      : `No shot in the library looks like this one (none at least ${percent(MIN_SIMILARITY)} similar).`;
  } catch (err) {
    if (mine !== asked) return;
    if (err.status === 404) {  // the shot is not embedded yet (or is gone): say why, in the API's words
      note.className = "warn";
      note.textContent = `Cannot compare this shot yet: ${err.message.replace(/\.$/, "")}.`;
    } else {
      note.textContent = "";
      showError(err, "similar shots");
    }
  }
}

export function wireSimilar() {
  $("btn-similar").addEventListener("click", () => showSimilar().catch((err) => showError(err, "similar shots")));
  $("similar-close").addEventListener("click", () => { asked++; $("similar").hidden = true; $("btn-similar").focus(); });
}
