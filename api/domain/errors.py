"""The domain's refusals. Every one carries a stable ``code``; a rule of the Measures also names its article.

    DomainError                  anything the domain refuses (422 unless a subclass says otherwise)
    ├── RuleViolation            a rule of the Measures refused it: code + article (status per rule)
    │   └── ForbiddenWork        第十九条; the attempt itself is kept as an Article 19 case
    ├── NotFound                 404: absent, or not the caller's to know about
    │   └── ComplaintNotFound    404, the same whether the number exists or the code is wrong (complaints/intake)
    ├── Forbidden                403: the caller may see it but not do this (第五条: access.not_your_agency)
    ├── Unauthenticated          401: no, bad or expired credentials
    │   └── RefreshTokenReused   401, and the family's revocation is committed (organisation/accounts)
    ├── Conflict                 409: the state or an earlier record says no
    ├── PhotoRefused             413/415/422: a photo too big, of a refused format, or not an image (images)
    ├── EvidenceTooLarge         413 (fieldwork/evidence)
    ├── EvidenceMissing          410: a stored evidence file is gone (fieldwork/evidence)
    ├── EvidenceAltered          410: its bytes no longer match their SHA-256 (fieldwork/evidence)
    ├── ProofOutOfRange          422: a proof of a tree or leaf the log does not have (audit/tree)
    ├── NoCheckpoint             404: the log has signed no checkpoint yet (audit/checkpoints)
    │   at the service's edge, outside the domain:
    ├── RateLimited              429 + Retry-After (api/ratelimit)
    ├── ServiceBusy              503 + Retry-After: no database slot in time (api/capacity)
    └── _Refused                 a badge photo's refusals, from verification/photo.PhotoRejected (api/routes/public)

Two refusals are not DomainErrors, for a reason: ``UploadTooLarge`` (api/uploads) is an HTTPException because
FastAPI lets only those through body parsing, and a timed-out pool or an unreachable database
(SQLAlchemy's TimeoutError/OperationalError) is answered 503 ``database_unavailable`` by api/errors.
"""


class DomainError(Exception):
    status = 422
    # When True the request's writes are committed although the request is refused (an Article 19
    # case, a revoked refresh-token family): the refusal itself is the record.
    keep_writes = False

    def __init__(
        self, code: str, detail_zh: str, detail_en: str, *, article: str | None = None, **extra: object
    ) -> None:
        super().__init__(detail_en)
        self.code = code
        self.article = article
        self.detail_zh = detail_zh
        self.detail_en = detail_en
        self.extra = extra


class RuleViolation(DomainError):
    """A rule of the Measures refused the request."""

    def __init__(
        self, code: str, article: str, detail_zh: str, detail_en: str, *, status: int = 422, **extra: object
    ) -> None:
        super().__init__(code, detail_zh, detail_en, article=article, **extra)
        self.status = status


class ForbiddenWork(RuleViolation):
    keep_writes = True


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, what_zh: str) -> None:
        super().__init__("not_found", f"{what_zh}不存在", f"{what} not found")


class Forbidden(DomainError):
    status = 403


class Unauthenticated(DomainError):
    status = 401


class Conflict(DomainError):
    status = 409
