"""The browsers a user wants Web Push messages on (RFC 8030): registered with what ``PushSubscription.toJSON()``
gives, refused when the service should not or cannot send there, and forgotten when the browser or its push
service lets go.

The service will POST to whatever endpoint a user registers, so an endpoint is refused unless it is an https URL
on port 443 of a public host: not a private, loopback, link-local or otherwise non-global address, nor a name
that only a local network resolves (``localhost``, ``*.local``, a name without a dot) — the service must not be
made to knock on doors of its own network (SSRF). Hosts named in ``AUXDUTY_PUSH_ALLOWED_HOSTS`` are exempt, and
may be reached over http (a push service of one's own network; tests). The sender checks again what a name
resolves to when it sends (api/push.py). The browser's keys must be a P-256 point and a 16-byte auth secret
(RFC 8291), or nothing could be encrypted to them.
"""

import base64
import binascii
import ipaddress
import re
import socket
import uuid
from collections.abc import Collection
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.errors import DomainError
from api.domain.models import PushSubscription, User

MAX_PER_USER = 10
"""A user's browsers kept at most; registering one more forgets the least recently registered."""
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
_B64 = re.compile(r"[A-Za-z0-9_+/-]+={0,2}")


def _refused(reason: str, zh: str, en: str) -> DomainError:
    return DomainError("push_endpoint_refused", f"不接受该推送地址：{zh}", f"push endpoint refused: {en}",
                       reason=reason)


def publicly_routable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address on the public Internet: not private, loopback, link-local, shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # "127.1", "0x7f.1", "2130706433": forms of an IPv4 address that resolvers accept too.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_endpoint(endpoint: str, allowed_hosts: Collection[str]) -> None:
    """Refuse (422 ``push_endpoint_refused``, with a ``reason``) an endpoint the service should not POST to."""
    if not endpoint.isascii() or any(c.isspace() or not c.isprintable() for c in endpoint):
        raise _refused("malformed", "地址含有非法字符", "the URL has characters a URL may not have")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise _refused("malformed", "地址格式错误", "not a URL") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise _refused("malformed", "地址缺少主机名", "the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise _refused("userinfo", "地址不得含用户名或密码", "the URL may not carry a user name or password")
    allowed = host in allowed_hosts
    if parts.scheme != "https" and not (parts.scheme == "http" and allowed):
        raise _refused("not_https", "推送地址须为 https", "the endpoint must be an https URL")
    if allowed:
        return
    if port not in (None, 443):
        raise _refused("port", "推送地址须使用 443 端口", "the endpoint must use port 443")
    address = _literal_address(host)
    if address is not None:
        if not publicly_routable(address):
            raise _refused("private_address", "推送地址不得指向内网、本机或保留地址",
                           "the endpoint may not be a private, loopback, link-local or reserved address")
        return
    labels = host.rstrip(".").split(".")
    if (len(labels) < 2 or not re.search(r"[a-z]", labels[-1]) or host == "localhost"
            or host.rstrip(".").endswith(LOCAL_SUFFIXES)):
        raise _refused("private_host", "推送地址须为公网域名", "the endpoint must name a public host")


def _decode(text: str) -> bytes:
    if not _B64.fullmatch(text):
        raise ValueError("not base64url")
    body = text.rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The browser's keys, as unpadded base64url; 422 ``push_keys_invalid`` unless ``p256dh`` is an uncompressed
    P-256 point (65 bytes) and ``auth`` a 16-byte secret (RFC 8291)."""
    try:
        point, secret = _decode(p256dh), _decode(auth)
        if len(point) != 65 or point[0] != 4 or len(secret) != 16:
            raise ValueError("wrong length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)  # on the curve, or ValueError
    except (ValueError, binascii.Error):
        raise DomainError(
            "push_keys_invalid", "浏览器推送密钥无效：p256dh 须为 65 字节的 P-256 公钥，auth 须为 16 字节",
            "invalid push keys: p256dh must be a 65-byte P-256 point and auth a 16-byte secret",
        ) from None
    return _encode(point), _encode(secret)


def subscribe(
    session: Session, *, user: User, endpoint: str, p256dh: str, auth: str, expires_at: datetime | None,
    allowed_hosts: Collection[str], now: datetime,
) -> tuple[PushSubscription, bool]:
    """Register a browser of ``user``; (subscription, created). The same endpoint again is the same browser: its
    keys and expiry are updated, and an endpoint registered by another account (the phone changed hands, or
    someone else logged in on it) moves to ``user``."""
    check_endpoint(endpoint, allowed_hosts)
    p256dh, auth = check_keys(p256dh, auth)
    values = {"user_id": user.id, "p256dh": p256dh, "auth": auth, "expires_at": expires_at, "updated_at": now,
              "failures": 0}
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint).with_for_update())
    created = row is None
    if row is None:
        try:
            with session.begin_nested():
                row = PushSubscription(endpoint=endpoint, created_at=now, **values)
                session.add(row)
                session.flush()
        except IntegrityError:  # the same browser registered at this instant by another request
            created = False
            row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint)
                                 .with_for_update().execution_options(populate_existing=True))
            assert row is not None
    if not created:
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
    stale = session.scalars(
        select(PushSubscription.id).where(PushSubscription.user_id == user.id)
        .order_by(PushSubscription.updated_at.desc(), PushSubscription.id.desc()).offset(MAX_PER_USER)).all()
    if stale:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(stale)))
    return row, created


def unsubscribe(session: Session, *, user: User, endpoint: str) -> None:
    """Forget the caller's browser at ``endpoint``; nothing happens for an endpoint that is not theirs."""
    session.execute(delete(PushSubscription).where(PushSubscription.endpoint == endpoint,
                                                   PushSubscription.user_id == user.id))


def record_outcomes(
    session: Session, *, delivered: Collection[uuid.UUID], gone: Collection[uuid.UUID],
    failed: Collection[uuid.UUID], at: datetime,
) -> None:
    """What the push services answered: accepted (``last_sent_at``, failures reset), gone for good (404/410:
    the row is deleted, RFC 8030 §7.3), or failed otherwise (``failures`` + 1)."""
    if gone:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(list(gone))))
    if delivered:
        session.execute(update(PushSubscription).where(PushSubscription.id.in_(list(delivered)))
                        .values(last_sent_at=at, failures=0))
    if failed:
        session.execute(update(PushSubscription).where(PushSubscription.id.in_(list(failed)))
                        .values(failures=PushSubscription.failures + 1))
