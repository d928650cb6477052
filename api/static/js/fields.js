// The team's own metadata fields (GET /api/v1/metadata/schema) in the pages' forms: the right control for each
// field type, reading it back in the API's form, telling whether it changed, and showing a value in words.
// Used by the asset page (its Metadata panel and the logging form) and the library (facets, bulk edits).
"use strict";

import { el } from "./common.js";

export const NONE = "–";

// a value as people read it: lists joined, booleans as yes/no, nothing as a dash
export function shown(field, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return NONE;
  if (Array.isArray(value)) return value.map((v) => shown(field, v)).join(", ");
  if (field && field.type === "boolean") return value === true || value === "true" ? "yes" : "no";
  return String(value);
}

// the comparable form of a value: a sorted list for a multiple field, true/false/null for a boolean, else text
function normal(field, value) {
  if (field.multiple) return [...(Array.isArray(value) ? value : value ? [value] : [])].map(String).sort();
  if (field.type === "boolean") return value === null || value === undefined ? null : Boolean(value);
  return value === null || value === undefined ? "" : String(value).trim();
}

export function same(field, a, b) { return JSON.stringify(normal(field, a)) === JSON.stringify(normal(field, b)); }

// what to send for a value read from a control: empty text and an empty list clear the field (null)
export function outgoing(field, value) {
  if (field.multiple) return Array.isArray(value) && value.length ? value : null;
  if (field.type === "boolean") return value;
  return value === "" || value === null || value === undefined ? null : value;
}

function choiceSelect(field, value, attrs) {
  const options = [el("option", { value: "" }, NONE)];
  const allowed = field.allowed || [];
  for (const item of allowed) options.push(el("option", { value: item, selected: item === value }, item));
  if (value && !allowed.includes(value)) {  // a value the schema no longer takes: shown, kept until changed
    options.push(el("option", { value, selected: true }, `${value} (no longer allowed)`));
  }
  return el("select", attrs, options);
}

const INPUT_TYPES = { number: "number", date: "date", url: "url", text: "text", user: "text" };

// One field's row in a form: label, control, help and a slot for the server's reason when a value is refused.
// Returns {field, row, read(), showProblem(text|null), focus()}; read() gives the value in the API's form
// (for a boolean left untouched: the value it was given, so an unset field stays unset).
export function fieldRow(field, value, id) {
  const help = field.help ? el("small", { class: "help", id: `${id}-help` }, field.help) : null;
  const problem = el("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const describedBy = [help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(" ");
  const base = { id, name: field.key, "aria-describedby": describedBy, dataset: { field: field.key } };
  const label = `${field.label}${field.required ? " *" : ""}`;
  let control, read, row, focusable;

  if (field.multiple && field.allowed) {
    // several values from a list: a group of checkboxes
    const held = Array.isArray(value) ? value : value ? [value] : [];
    const items = [...field.allowed, ...held.filter((v) => !field.allowed.includes(v))];
    const boxes = items.map((item, i) => el("label", { class: "inline" },
      el("input", { type: "checkbox", name: field.key, value: item, id: i ? undefined : id, checked: held.includes(item) }),
      field.allowed.includes(item) ? item : `${item} (no longer allowed)`));
    row = el("fieldset", { class: "field choices", "aria-describedby": describedBy, dataset: { field: field.key } },
      el("legend", {}, label), el("div", { class: "boxes" }, boxes), help, problem);
    read = () => [...row.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
    focusable = () => row.querySelector("input");
    return { field, row, read, showProblem: problemShower(row, problem, focusable), focus: () => focusable().focus() };
  }
  if (field.type === "boolean") {
    control = el("input", { ...base, type: "checkbox", checked: value === true });
    control.indeterminate = value === null || value === undefined;  // not set (neither yes nor no) until touched
    read = () => (control.indeterminate ? (value ?? null) : control.checked);
    row = el("div", { class: "field boolean", dataset: { field: field.key } },
      el("label", { class: "inline", for: id }, control, label), help, problem);
  } else {
    if (field.type === "choice" || field.type === "taxonomy") {
      control = choiceSelect(field, value, base);
    } else if (field.type === "long_text") {
      control = el("textarea", { ...base, rows: "3", maxlength: "20000" });
      control.value = value ?? "";
    } else if (field.multiple) {  // several free values: one line, separated by commas
      control = el("input", { ...base, type: "text", placeholder: "values, separated by commas" });
      control.value = Array.isArray(value) ? value.join(", ") : value ?? "";
    } else {
      control = el("input", { ...base, type: INPUT_TYPES[field.type] || "text", autocomplete: "off",
                              step: field.type === "number" ? "any" : undefined,
                              placeholder: field.type === "url" ? "https://…" : undefined });
      control.value = value ?? "";
    }
    if (field.type === "user" && field.suggestions && !field.multiple) {
      // the team's people offered as the name is typed (any name the server knows is taken)
      const list = el("datalist", { id: `${id}-people` }, field.suggestions.map((name) => el("option", { value: name })));
      control.setAttribute("list", list.id);
      control.people = list;
    }
    read = field.multiple
      ? () => control.value.split(",").map((v) => v.trim()).filter(Boolean)
      : () => control.value.trim();
    row = el("div", { class: `field ${field.type}`, dataset: { field: field.key } },
      el("label", { for: id }, label), control, control.people || null, help, problem);
  }
  focusable = () => control;
  return { field, row, read, showProblem: problemShower(control, problem, focusable), focus: () => control.focus() };
}

function problemShower(target, slot, focusable) {
  return (text) => {
    slot.textContent = text || "";
    slot.hidden = !text;
    const invalid = focusable();
    if (text) invalid.setAttribute("aria-invalid", "true"); else invalid.removeAttribute("aria-invalid");
    target.classList.toggle("invalid", Boolean(text));
  };
}

// One value for a field (the bulk form): a list for a vocabulary or taxonomy, yes/no for a boolean, else a box.
export function valueControl(field, id) {
  const attrs = { id, name: "value", "aria-describedby": `${id}-help` };
  if (field.allowed) return choiceSelect(field, "", attrs);
  if (field.type === "boolean") {
    return el("select", attrs, el("option", { value: "" }, NONE), el("option", { value: "true" }, "yes"),
              el("option", { value: "false" }, "no"));
  }
  if (field.type === "long_text") return el("textarea", { ...attrs, rows: "2" });
  return el("input", { ...attrs, type: INPUT_TYPES[field.type] || "text", autocomplete: "off",
                       step: field.type === "number" ? "any" : undefined });
}

// a field term for the fielded queries of /assets and /search: camera:"A cam", graded:"true" (a quote inside a
// value cannot be written in a term: it is left out)
export function term(key, value) { return `${key}:"${String(value).replaceAll('"', "")}"`; }
