// Sign in with an API token: the server answers with the session and CSRF cookies.
"use strict";

const form = document.getElementById("signin");
const error = document.getElementById("signin-error");

function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/library";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/library";  // never off this site
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const token = form.token.value.trim();
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token }),
    });
    if (!response.ok) {
      let message = `sign-in failed (${response.status})`;
      try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
      error.textContent = message;
      form.token.focus();
      return;
    }
    location.assign(nextPage());
  } catch (err) {
    error.textContent = "cannot reach the Rushes server: is it running?";
  }
});
