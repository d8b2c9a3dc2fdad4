"""Badge numbers (证件编号): how they are made, and how a number a citizen types is read back (第二十四条).

A number is ``NJ`` and eight characters of Crockford's base32, which leaves out I, L, O and U so that nothing
printed on a badge can be misread. The same choice lets a typed number be read back without guessing: a
citizen who types O can only have meant 0, and I or L only 1, because no issued number holds those letters.
Case, spaces, dashes and full-width characters (a Chinese input method's ＮＪ０１) are forgiven too.

Numbers made before this scheme (or imported) may hold any letters and digits, so the number as typed is
always tried first; the look-alike reading only second. Neither reading ever matches two badges.
"""

import re
import secrets
import unicodedata

BADGE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BADGE_PREFIX = "NJ"
BADGE_BODY_LENGTH = 8
BADGE_NO_PATTERN = re.compile(r"^[A-Z0-9]{1,32}$")
# Only letters that never occur in an issued number, each read as the digit it looks like.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Spaces and every dash a phone keyboard or an input method offers (after NFKC: full-width ones are ASCII).
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc_·・.]")


def new_badge_no() -> str:
    return BADGE_PREFIX + "".join(secrets.choice(BADGE_ALPHABET) for _ in range(BADGE_BODY_LENGTH))


def typed_badge_no(text: str) -> str:
    """The number as typed, without case, spacing, dashes or full-width forms; look-alikes kept."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def badge_no_readings(text: str) -> tuple[str, ...]:
    """The numbers ``text`` may mean, in the order to try them: as typed, then with O read as 0 and I or L as
    1. Empty when it cannot be a badge number at all (anything but letters and digits, or too long)."""
    typed = typed_badge_no(text)
    if not BADGE_NO_PATTERN.fullmatch(typed):
        return ()
    forgiven = typed.translate(_LOOK_ALIKES)
    return (typed,) if forgiven == typed else (typed, forgiven)
