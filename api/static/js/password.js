// Set a password from an invitation or reset link (/login/password?link=…): the link is used once.
"use strict";

const form = document.getElementById("set-password");
const error = document.getElementById("set-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  if (form.password.value !== form.again.value) { error.textContent = "the two passwords differ"; return; }
  const link = new URLSearchParams(location.search).get("link") || "";
  const response = await fetch("/api/v1/password", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ link, password: form.password.value }),
  });
  if (!response.ok) {
    let message = `failed (${response.status})`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    error.textContent = message;
    return;
  }
  form.hidden = true;
  document.getElementById("set-done").hidden = false;
});
