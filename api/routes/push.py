"""Web Push: the key a browser subscribes with, and the browsers (subscriptions) of the caller. An officer's
subscribed browsers are told when a record comes to wait for their co-signature (api/push.py)."""

import base64

from fastapi import APIRouter, Response, status

from api.deps import ContextDep, CurrentUser, SessionDep
from api.domain.base import utcnow
from api.domain.models import PushSubscription
from api.domain.organisation.push_subscriptions import subscribe, unsubscribe
from schemas.push import PushKeyRead, PushSubscriptionCreate, PushSubscriptionDelete, PushSubscriptionRead

router = APIRouter(prefix="/api/push", tags=["push"])


@router.get("/key", response_model=PushKeyRead)
def read_push_key(ctx: ContextDep, session: SessionDep, user: CurrentUser) -> PushKeyRead:
    """The service's VAPID public key (RFC 8292), the same on every host: pass it, decoded, as
    `applicationServerKey` to `PushManager.subscribe()`. Any logged-in user."""
    point = ctx.vapid.public_key(session)
    return PushKeyRead(public_key=base64.urlsafe_b64encode(point).rstrip(b"=").decode())


@router.post("/subscriptions", response_model=PushSubscriptionRead, status_code=201,
             responses={200: {"description": "this browser was registered already (perhaps by another account): "
                                             "updated, and now the caller's"}})
def create_push_subscription(
    ctx: ContextDep, session: SessionDep, user: CurrentUser, body: PushSubscriptionCreate, response: Response
) -> PushSubscription:
    """Register a browser of the caller with what `PushSubscription.toJSON()` gives. An officer's browsers are
    told when a record comes to wait for their co-signature (payload `{"type": "cosign_pending", "task_id",
    "category", "category_name", "auxiliary_name", "pending", "task_ids", "url"}`, encrypted to the browser,
    RFC 8291). The same endpoint again answers 200: updated, never duplicated; an endpoint another account
    registered moves to the caller. A user keeps at most 10 browsers: registering another forgets the one
    registered least recently. 422 `push_endpoint_refused` (with a `reason`) unless `endpoint` is an https URL
    on port 443 of a public host (no private, loopback or link-local address, no local name); 422
    `push_keys_invalid` unless `keys.p256dh` is a 65-byte P-256 point and `keys.auth` a 16-byte secret
    (base64url). Any logged-in user."""
    row, created = subscribe(session, user=user, endpoint=body.endpoint, p256dh=body.keys.p256dh,
                             auth=body.keys.auth, expires_at=body.expires_at(),
                             allowed_hosts=ctx.settings.push_allowed_hosts, now=utcnow())
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return row


@router.delete("/subscriptions", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_push_subscription(session: SessionDep, user: CurrentUser, body: PushSubscriptionDelete) -> Response:
    """Forget a browser of the caller (after `PushSubscription.unsubscribe()`, or at logout). Always 204: for an
    endpoint never registered, or registered by another account (which keeps it), too."""
    unsubscribe(session, user=user, endpoint=body.endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
