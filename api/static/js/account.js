// A person changes their own password (the current one first); the server then ends their browser sessions.
"use strict";

import { api, whoAmI } from "./common.js";

const form = document.getElementById("change-password");
const error = document.getElementById("change-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  if (form.new.value !== form.again.value) { error.textContent = "the two new passwords differ"; return; }
  try {
    await api("/api/v1/me/password", { method: "POST", body: { current: form.current.value, new: form.new.value } });
  } catch (err) { error.textContent = err.message; return; }
  form.hidden = true;
  document.getElementById("changed").hidden = false;
});
whoAmI().catch(() => { /* the page still works */ });
