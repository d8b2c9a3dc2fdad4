"""The colours of the citizen pages, named once, and every pairing of text and background they are used in.

The stylesheet (templates/citizen.css) takes its colours from here and nowhere else, so the contrast of each
pairing below can be computed (tests/pages/test_citizen_rules.py) against WCAG 2.2 AA: 4.5:1 for text, 3:1 for
the edges of form fields. A colour added to the stylesheet without a pairing here fails that test.
"""

from typing import NamedTuple

COLOURS: dict[str, str] = {
    "page": "#eef1f5",
    "card": "#ffffff",
    "ink": "#1c2430",
    "navy": "#163460",
    "muted": "#5a6470",  # footer, hints, labels: 5.3:1 on the page, 6:1 on a card (was #66707d, 4.44:1)
    "rule": "#d5dae1",
    "field": "#767f8c",
    "link": "#0b57d0",
    "valid": "#17803d",
    "hold": "#b45309",
    "dead": "#b42318",
    "notice": "#fff8e6",
    "notice_edge": "#e0a100",
    "alert": "#fff1f0",
    "error": "#8c1d13",
    "tag": "#fdf1d6",
    "tag_ink": "#7a4b00",
    "tag_edge": "#f0c36b",
    "code": "#f3f6fa",
    "slot": "#dfe3e8",
    "slot_figure": "#b9c1cc",
    "tile": "#e3eaf5",
    "sweep": "#4f7cc0",
    "ok_soft": "#eaf6ee",
    "ok_ink": "#0f5f2c",
}


class Pairing(NamedTuple):
    where: str
    ink: str
    ground: str
    minimum: float = 4.5


FIELD_EDGE = 3.0  # WCAG 1.4.11: the boundary of a form field against its ground

PAIRINGS: tuple[Pairing, ...] = (
    Pairing("body text on the page", "ink", "page"),
    Pairing("text in a card", "ink", "card"),
    Pairing("the top bar and its links", "card", "navy"),
    Pairing("the issuing authority line", "rule", "navy"),
    Pairing("valid banner", "card", "valid"),
    Pairing("suspended banner", "card", "hold"),
    Pairing("revoked, superseded, expired, invalid banner", "card", "dead"),
    Pairing("card headings", "navy", "card"),
    Pairing("headings in a notice", "navy", "notice"),
    Pairing("headings in an alert", "navy", "alert"),
    Pairing("footer and meta lines", "muted", "page"),
    Pairing("hints and labels in a card", "muted", "card"),
    Pairing("hints in a notice", "muted", "notice"),
    Pairing("hints in an alert", "muted", "alert"),
    Pairing("the placeholder photo's words", "muted", "slot"),
    Pairing("links in a card", "link", "card"),
    Pairing("links on the page (footer)", "link", "page"),
    Pairing("links in a notice", "link", "notice"),
    Pairing("links in an alert", "link", "alert"),
    Pairing("the big warning line", "dead", "alert"),
    Pairing("the big warning line in a card", "dead", "card"),
    Pairing("error messages", "error", "alert"),
    Pairing("the no-enforcement-power tag", "tag_ink", "tag"),
    Pairing("text in a notice", "ink", "notice"),
    Pairing("text in an alert", "ink", "alert"),
    Pairing("the red button", "card", "dead"),
    Pairing("the blue button", "card", "link"),
    Pairing("the navy button", "card", "navy"),
    Pairing("codes to keep", "ink", "code"),
    Pairing("landing tiles", "navy", "tile"),
    Pairing("the found-in-log line", "ok_ink", "ok_soft"),
    Pairing("form field edges", "field", "card", FIELD_EDGE),
)

