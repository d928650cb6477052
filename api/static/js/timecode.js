// SMPTE timecode maths for the player, the same rules as rushes/timecode.py (drop-frame included).
"use strict";

const TC_RE = /^\s*(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$/;

export function parseRate(rate) {
  // "30000/1001" | "25" | 25 -> {num, den, fps, nominal}
  let num, den;
  if (typeof rate === "number") { num = rate; den = 1; }
  else {
    const [a, b] = String(rate).split("/");
    num = Number(a); den = b === undefined ? 1 : Number(b);
  }
  if (!(num > 0 && den > 0)) throw new Error(`not a frame rate: ${rate}`);
  return { num, den, fps: num / den, nominal: Math.round(num / den) };
}

function droppedPerMinute(nominal) {
  if (nominal % 30) throw new Error(`drop-frame timecode needs 29.97 or 59.94, not ${nominal} fps`);
  return nominal / 15;
}

export function parseTimecode(text) {
  const m = TC_RE.exec(text);
  if (!m) throw new Error(`not a timecode: "${text}" (expected HH:MM:SS:FF)`);
  const [, hh, mm, ss, sep, ff] = m;
  const tc = { hours: +hh, minutes: +mm, seconds: +ss, frames: +ff, drop: sep !== ":" };
  if (tc.minutes > 59 || tc.seconds > 59) throw new Error(`not a timecode: "${text}" (minutes and seconds < 60)`);
  return tc;
}

export function timecodeToFrames(text, rate, drop) {
  const tc = typeof text === "string" ? parseTimecode(text) : text;
  const { nominal } = parseRate(rate);
  const isDrop = drop === undefined ? tc.drop : drop;
  if (tc.frames >= nominal) throw new Error(`timecode ${text}: frame ${tc.frames} is past ${nominal - 1}`);
  const totalMinutes = 60 * tc.hours + tc.minutes;
  const frames = (60 * totalMinutes + tc.seconds) * nominal + tc.frames;
  if (!isDrop) return frames;
  const dropped = droppedPerMinute(nominal);
  return frames - dropped * (totalMinutes - Math.floor(totalMinutes / 10));
}

function pad(n) { return String(n).padStart(2, "0"); }

export function framesToTimecode(frames, rate, drop = false) {
  const { nominal } = parseRate(rate);
  let day = 24 * 3600 * nominal;
  if (drop) day -= 24 * 54 * droppedPerMinute(nominal);
  frames = ((frames % day) + day) % day;
  if (drop) {
    const dropped = droppedPerMinute(nominal);
    const perTen = 600 * nominal - 9 * dropped;
    const perMinute = 60 * nominal - dropped;
    const tens = Math.floor(frames / perTen);
    const rest = frames % perTen;
    frames += 9 * dropped * tens;
    if (rest >= dropped) frames += dropped * Math.floor((rest - dropped) / perMinute);
  }
  const ff = frames % nominal;
  const seconds = Math.floor(frames / nominal);
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}` +
    `${drop ? ";" : ":"}${pad(ff)}`;
}

// The exact value of a double as a fraction of BigInts [numerator, denominator], for x >= 0.
function exactRational(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let power = -1074;
  if (exponent) { mantissa |= 1n << 52n; power = exponent - 1075; }
  return power >= 0 ? [mantissa << BigInt(power), 1n] : [mantissa, 1n << BigInt(-power)];
}

// The frame nearest to `seconds` at `rate`, exact halves to even: the catalog's rule (Python's
// round(Fraction(seconds) * rate)), computed exactly, so a time that falls on half a frame (8.02 s at 25 fps)
// lands on the frame whose timecode the catalog printed, not on the next one as float rounding would.
export function nearestFrame(seconds, rate) {
  if (!(seconds > 0)) return 0;
  const { num, den } = parseRate(rate);
  const [n, d] = exactRational(seconds);
  const top = n * BigInt(num), bottom = d * BigInt(den);
  let frames = top / bottom;
  const twice = 2n * (top % bottom);
  if (twice > bottom || (twice === bottom && frames % 2n === 1n)) frames += 1n;
  return Number(frames);
}

// A version's clock: frame index <-> source timecode, from /api/v1 version "clock".
export class Clock {
  constructor({ rate = "25", start_timecode = "00:00:00:00", drop_frame = false } = {}) {
    this.rate = parseRate(rate);
    this.fps = this.rate.fps;
    const start = parseTimecode(start_timecode);
    this.drop = drop_frame || start.drop;
    this.startFrames = timecodeToFrames(start, rate, this.drop);
    this.rateText = rate;
  }
  frameAt(seconds) { return Math.max(0, Math.floor(seconds * this.fps + 1e-3)); }  // the frame showing at a play position
  nearestFrame(seconds) { return nearestFrame(seconds, this.rateText); }  // a catalog time: the frame it labels
  secondsOf(frame) { return frame / this.fps; }
  timecode(frame) { return framesToTimecode(this.startFrames + frame, this.rateText, this.drop); }
  frameOf(text) {
    // a source timecode -> frame index in this media (may be negative or past the end: the caller checks)
    return timecodeToFrames(text, this.rateText, this.drop) - this.startFrames;
  }
}
