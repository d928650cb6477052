// Lists of shots found by their picture (shots like this one on the asset page, shots like an uploaded still in
// the library): keyframe, asset, timecodes, how alike, and a "same material" badge for a copy or re-encode. Each
// opens its asset at the shot's time.
"use strict";

import { el } from "./common.js";

export function percent(similarity) { return `${Math.round(similarity * 100)}%`; }

export function shotHref(shot) {
  return `/assets/${shot.asset_id}?v=${shot.version}&t=${Number(shot.start_s).toFixed(3)}`;
}

// onOpen(shot, event): called before the link is followed (the asset page seeks in place for its own version)
export function shotItem(shot, onOpen = null) {
  const range = `${shot.start_tc} – ${shot.end_tc}`;
  const same = Boolean(shot.near_duplicate);
  const label = `${shot.asset_name}, shot ${shot.index + 1}, ${range}, ${percent(shot.similarity)} similar${same ? ", same material" : ""}`;
  const link = el("a", { href: shotHref(shot), "aria-label": label },
    shot.keyframe_url ? el("img", { src: shot.keyframe_url, alt: "", width: "128", height: "72", loading: "lazy" })
      : el("span", { class: "no-poster", "aria-hidden": "true" }, "–"),
    el("span", { class: "shot-text" },
      el("strong", { class: "asset" }, shot.asset_name), el("br"),
      el("span", { class: "tc" }, range), el("br"),
      el("span", { class: "similarity", title: "how alike the keyframes are (cosine of their picture features)" },
        `${percent(shot.similarity)} similar`),
      same ? el("span", { class: "badge same-material", title: "the same picture in another file: a copy or a re-encode" },
                "same material") : null));
  if (onOpen) link.addEventListener("click", (event) => onOpen(shot, event));
  return el("li", { class: `shot${same ? " same" : ""}`,
                    dataset: { sceneId: shot.scene_id, assetId: shot.asset_id, index: shot.index } }, link);
}

export function shotList(shots, onOpen = null) { return shots.map((shot) => shotItem(shot, onOpen)); }
