"""The complaint receipt between the POST that files a complaint and the page that shows it (post-redirect-get).

The form's POST files the complaint and answers 303 to ``/complaints/receipt``; that GET shows the tracking
number and the access code, and reloading it files nothing. The access code has to cross the redirect, and it
must not travel in a URL: URLs end up in the browser's history, in proxies' and servers' access logs and in
Referer headers, and the access code is the only secret that guards the complaint.

Why a sealed cookie and not a one-time id kept on the server:
- The server keeps no access code in the clear, anywhere, at any time: only its hash (intake.py). A one-time
  store would hold the plain code, and on several hosts it would need Redis to find it again.
- The cookie is encrypted and authenticated (AES-256-GCM under a key derived from ``AUXDUTY_SECRET_KEY``, the
  same on every host), so it can be neither read nor forged; it expires after ``LIFETIME`` inside its sealed
  payload as well as by ``Max-Age``, so a copy kept past its time is refused.
- It is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over https, and its ``Path`` is the receipt page alone,
  so no other request carries it and no script can read it.
- Reloading the receipt shows it again (a citizen who reloads before writing the code down does not lose it),
  until it expires or the citizen takes it off the device with the page's button (a shared phone).
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COOKIE = "auxduty_receipt"
PATH = "/complaints/receipt"
LIFETIME = 30 * 60
_NONCE = 12
_CONTEXT = b"auxduty complaint receipt cookie v1"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def seal(secret: str, *, tracking_no: str, access_code: str, now: float | None = None) -> str:
    """The cookie value carrying a receipt until ``now + LIFETIME``."""
    expires = int((time.time() if now is None else now) + LIFETIME)
    plain = json.dumps({"t": tracking_no, "c": access_code, "e": expires}, separators=(",", ":")).encode()
    nonce = os.urandom(_NONCE)
    sealed = nonce + AESGCM(_key(secret)).encrypt(nonce, plain, _CONTEXT)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(secret: str, value: str | None, *, now: float | None = None) -> tuple[str, str] | None:
    """The tracking number and access code in ``value``; None if absent, altered, forged or expired."""
    if not value or len(value) > 1024:
        return None
    try:
        sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        plain = AESGCM(_key(secret)).decrypt(sealed[:_NONCE], sealed[_NONCE:], _CONTEXT)
        body = json.loads(plain)
    except (binascii.Error, ValueError, InvalidTag):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("e"), int):
        return None
    if body["e"] < (time.time() if now is None else now):
        return None
    tracking_no, code = body.get("t"), body.get("c")
    if not isinstance(tracking_no, str) or not isinstance(code, str):
        return None
    return tracking_no, code
