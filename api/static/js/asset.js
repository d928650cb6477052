// The asset page: a frame-accurate proxy player with source timecode, scenes, transcript, comments at a
// frame, review decisions, QC markers, versions, the delivery panel, the team's metadata and ranges logged at
// the player. Everything goes through /api/v1.
//
// This entry loads the asset and wires the sections together; each section is a module under asset/
// (player, timeline, analysis with the current scene's tags and similar shots, comments, review, delivery, rights,
// storage (archive and restore),
// metadata and what agents suggested for it, logging, collections, versions, keys), and the shared page state lives in asset/state.js. Imports go
// one way, never in a circle: this file → the sections → the few sections they call (player, timeline, comments,
// delivery, versions, tags, similar, metadata) → state.js. The controls of the team's metadata fields are shared
// with the library (fields.js), and so are lists of shots found by their picture (shots.js).
"use strict";

import { api, el, showError, whoAmI } from "./common.js";
import { Clock } from "./timecode.js";
import { followScene, followTranscript, renderQc, renderScenes, renderTranscript } from "./asset/analysis.js";
import { renderCollections, wireCollections } from "./asset/collections.js";
import { loadComments, wireComments } from "./asset/comments.js";
import { loadDelivery, wireDelivery } from "./asset/delivery.js";
import { wireKeys } from "./asset/keys.js";
import { loadLogs, setUpLogging, wireLogging } from "./asset/logging.js";
import { loadMetadata, wireMetadata } from "./asset/metadata.js";
import { loadSuggestions } from "./asset/suggestions.js";
import { onFrameShown, seekFrame, showTime, wirePlayer, wireTransport } from "./asset/player.js";
import { loadReview, wireReview } from "./asset/review.js";
import { loadRights, wireRights } from "./asset/rights.js";
import { wireSimilar } from "./asset/similar.js";
import { loadStorage, wireStorage } from "./asset/storage.js";
import { $, allowedTo, assetId, query, state, versionPath, video } from "./asset/state.js";
import { drawCommentMarkers, drawLogMarks, drawQc, drawScenes } from "./asset/timeline.js";
import { loadChanges, renderMetadata, renderVersions, wireVersions } from "./asset/versions.js";

async function optional(path) {
  try { return await api(path); } catch (err) { if (err.status === 404) return null; throw err; }
}

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
  state.tagMinConfidence = scenes ? scenes.tag_min_confidence : null;
  renderScenes(); drawScenes(); renderTranscript(transcript); renderQc(qc);
  const start = query.has("t") ? state.clock.nearestFrame(Number(query.get("t"))) : 0;
  const ready = () => { if (video.duration) state.frames = Math.max(1, Math.round(video.duration * state.clock.fps)); seekFrame(start); drawAll(); document.body.dataset.ready = "true"; };
  if (video.readyState >= 1) ready(); else video.addEventListener("loadedmetadata", ready, { once: true });
  // a proxy the browser cannot load or play: the page says so and is usable without its player
  const unplayable = () => {
    showError(`the proxy could not be played (${video.error.message || `media error ${video.error.code}`}): reload the page`, "player");
    document.body.dataset.ready = "true";
  };
  if (!version.proxy_url) { seekFrame(0); document.body.dataset.ready = "true"; }
  else if (video.error) unplayable();
  else video.addEventListener("error", unplayable, { once: true });
  $("rights-edit").hidden = !allowedTo("edit_metadata");
  await Promise.all([[loadComments(), "comments"], [loadReview(), "review"], [loadDelivery(), "delivery"],
                     [loadRights(), "rights"], [loadStorage(), "storage"], [loadTeamMetadata(), "metadata"], [loadSuggestions(), "suggestions"],
                     [loadChanges(version), "what changed"]].map(([p, where]) => p.catch((err) => showError(err, where))));
}

// the team's fields, then the logged ranges of the version (the range views come with the asset's views)
async function loadTeamMetadata() {
  const view = await loadMetadata();
  setUpLogging(view.range_views);
  await loadLogs();
}

function drawAll() { drawQc(); drawScenes(); drawCommentMarkers(); drawLogMarks(); showTime(); }

// the scene strip, its tags and the transcript follow the frame shown
onFrameShown((frame) => { followScene(frame); followTranscript(frame / state.clock.fps); });
wirePlayer(); wireCollections(); wireVersions();
wireTransport(); wireKeys(); wireComments(); wireReview(); wireDelivery(); wireRights(); wireMetadata(); wireLogging();
wireSimilar(); wireStorage();
load().catch((err) => showError(err, "loading the asset"));
