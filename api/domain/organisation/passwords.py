"""Changing one's own password (API.md, "Accounts"): the old one proves who asks, the new one must not be
easy to guess, and every login the account had ends (a password is changed because someone else may know it).

What counts as weak is a table, as NIST SP 800-63B words it: long enough, not a well-known password, not the
username, not the old one, not a few characters repeated. No rule of mixing character kinds: a long phrase
of lower-case words is stronger than ``Passw0rd!``.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.errors import DomainError, Forbidden
from api.domain.models import User
from api.domain.organisation.accounts import HashCost, hash_password, revoke_logins, verify_password

MIN_LENGTH = 10
MIN_DISTINCT = 5
# Passwords every guesser tries first, here and abroad (lists of leaked passwords: 123456, woaini1314, ...).
COMMON = frozenset({
    "1234567890", "12345678910", "0123456789", "1234512345", "1111111111", "1q2w3e4r5t", "1qaz2wsx3edc",
    "qwertyuiop", "qwerty123456", "asdfghjkl;", "zxcvbnm123", "password123", "password1234", "passw0rd123",
    "iloveyou123", "woaini1314", "woaini520", "woaini123456", "5201314520", "1314520520", "abc1234567",
    "abcd123456", "a123456789", "aa12345678", "admin12345", "administrator", "admin123456", "qq123456789",
    "abcdefghij", "1234qwerasdf", "nanjing123", "nanjing2026", "zhangwei123", "changeme123",
})


@dataclass(frozen=True)
class Weakness:
    reason: str
    detail_zh: str
    detail_en: str
    found: Callable[[str, User, str], bool]
    """(new password, the account, the old password) → whether the new one has this weakness."""


WEAKNESSES: tuple[Weakness, ...] = (
    Weakness("too_short", f"至少{MIN_LENGTH}个字符", f"at least {MIN_LENGTH} characters",
             lambda new, user, old: len(new) < MIN_LENGTH),
    Weakness("too_few_distinct", f"至少包含{MIN_DISTINCT}个不同字符", f"at least {MIN_DISTINCT} different characters",
             lambda new, user, old: len(set(new)) < MIN_DISTINCT),
    Weakness("common", "不能是常见密码", "not a well-known password",
             lambda new, user, old: new.strip().casefold() in COMMON),
    Weakness("contains_username", "不能包含用户名", "must not contain the username",
             lambda new, user, old: len(user.username) >= 3 and user.username.casefold() in new.casefold()),
    Weakness("same_as_old", "不能与原密码相同", "must differ from the current password",
             lambda new, user, old: new == old),
)


class WrongPassword(Forbidden):
    """The current password given to change it is wrong: it counts as a failed login (api/lockout.py)."""

    def __init__(self) -> None:
        super().__init__("wrong_password", "原密码错误", "the current password is wrong")


def weaknesses(new_password: str, *, user: User, old_password: str) -> list[Weakness]:
    return [w for w in WEAKNESSES if w.found(new_password, user, old_password)]


def change_password(
    session: Session, *, user: User, old_password: str, new_password: str, cost: HashCost
) -> int:
    """Check the current password, refuse a weak new one (422 ``weak_password`` naming each reason), store
    the new hash (same Argon2 settings as every other), end every login of the account and log the change.
    Returns how many refresh tokens were revoked."""
    if not verify_password(user, old_password, cost=cost):
        raise WrongPassword()
    weak = weaknesses(new_password, user=user, old_password=old_password)
    if weak:
        raise DomainError(
            "weak_password",
            "新密码强度不足：" + "；".join(w.detail_zh for w in weak),
            "the new password is too weak: " + "; ".join(w.detail_en for w in weak),
            reasons=[w.reason for w in weak],
        )
    user.password_hash = hash_password(new_password, cost)
    revoked = revoke_logins(session, user.id)
    audit.record(session, user, "user.password_changed", actor_id=user.id)
    return revoked
