"""A real OpenID Connect issuer for the single sign-on tests (node-oidc-provider, ``tests/oidc_issuer``), and a walk
through its sign-in pages as a browser would (follow the redirects, fill in and send its forms)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx

from tests.conftest import wait_for
from tests.farmproc import free_port

FOLDER = Path(__file__).parent / "oidc_issuer"
CLIENT_ID, CLIENT_SECRET = "rushes", "a secret only the tests know"


@contextmanager
def oidc_issuer(redirect_uri: str) -> Iterator[str]:
    """Start the issuer for a client whose callback is ``redirect_uri``; yield its address."""
    node = shutil.which("node")
    assert node and (FOLDER / "node_modules" / "oidc-provider").is_dir(), \
        "the test issuer needs Node.js and `npm ci --prefix tests/oidc_issuer` (make test does both)"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
           "REDIRECT_URI": redirect_uri}
    proc = subprocess.Popen([node, str(FOLDER / "issuer.mjs")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, what="the OpenID Connect issuer to start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def walk_issuer(start: str, login: str, stop_at: str) -> str:
    """Follow the issuer from ``start`` as a browser would, signing in as ``login`` and consenting, until a redirect
    leads to ``stop_at`` (Rushes' callback); return that URL."""
    with httpx.Client(timeout=10) as browser:
        url, method, data = start, "GET", None
        for _ in range(20):
            answer = browser.request(method, url, data=data)
            if answer.status_code in (302, 303):
                url, method, data = urljoin(url, answer.headers["location"]), "GET", None
                if url.startswith(stop_at):
                    return url
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', answer.text, re.S)
            assert answer.status_code == 200 and form, (answer.status_code, answer.text[:500])
            fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
            if 'name="login"' in form.group(2):
                fields.update(login=login, password="any password: the test issuer takes every name")
            url, method, data = urljoin(url, unescape(form.group(1))), "POST", fields
        raise AssertionError(f"the issuer never sent the browser back to {stop_at}")
