// Sign in with a name and password (or an API token): the server answers with the session and CSRF cookies.
// A wrong password says how many attempts are left; a locked account says until when.
"use strict";

function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/library";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/library";  // never off this site
}

async function signIn(body, error, focus) {
  error.textContent = "";
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let message = `sign-in failed (${response.status})`;
      try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
      error.textContent = message;
      error.dataset.status = String(response.status);
      focus.focus();
      return;
    }
    location.assign(nextPage());
  } catch (err) {
    error.textContent = "cannot reach the Rushes server: is it running?";
  }
}

const passwordForm = document.getElementById("password-signin");
passwordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn({ user: passwordForm.user.value.trim(), password: passwordForm.password.value },
         document.getElementById("password-error"), passwordForm.password);
});

const tokenForm = document.getElementById("signin");
tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn({ token: tokenForm.token.value.trim() }, document.getElementById("signin-error"), tokenForm.token);
});

// single sign-on, when the farm has an issuer: a button that goes there and comes back to the page asked for
fetch("/api/v1/sso", { headers: { Accept: "application/json" } }).then((r) => r.json()).then((sso) => {
  if (!sso.enabled) return;
  const link = document.getElementById("sso-link");
  link.textContent = `Sign in with ${sso.label}`;
  link.href = `/login/sso?next=${encodeURIComponent(nextPage())}`;
  document.getElementById("sso").hidden = false;
}).catch(() => { /* the password form still works */ });

// a sign-on the server refused comes back here with the reason
const refused = new URLSearchParams(location.search).get("error");
if (refused) document.getElementById("password-error").textContent = `single sign-on: ${refused}`;
