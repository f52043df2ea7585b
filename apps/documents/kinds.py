"""What kind of document this is, from the words in it: rules a person can read and check.

Each kind has strong words (the name of the document itself: "payslip", "passport") worth
3 points and weak words (what such a document talks about: "net pay", "landlord") worth
1 point, each counted once. The kind with the most points wins if it reaches 3 (one
strong word, or three weak ones); a tie goes to the kind listed first. Otherwise: other.
Words are matched whole and case-insensitively in the title, file name and text, in
English, French and German, the languages residents upload most.
"""

import re
from dataclasses import dataclass

OTHER = "other"
STRONG_POINTS = 3
WEAK_POINTS = 1
THRESHOLD = 3


@dataclass(frozen=True)
class Rule:
    kind: str
    strong: tuple[str, ...]
    weak: tuple[str, ...]


RULES: tuple[Rule, ...] = (
    Rule(
        "lease",
        strong=(
            "lease",
            "lease agreement",
            "tenancy agreement",
            "rental agreement",
            "contrat de location",
            "mietvertrag",
        ),
        weak=(
            "landlord",
            "tenant",
            "lessor",
            "lessee",
            "rent",
            "deposit",
            "premises",
            "bail",
            "locataire",
            "bailleur",
            "loyer",
            "vermieter",
            "mieter",
            "miete",
        ),
    ),
    Rule(
        "identity",
        strong=(
            "passport",
            "identity card",
            "national identity",
            "driving licence",
            "driver's license",
            "residence permit",
            "passeport",
            "carte d'identité",
            "personalausweis",
            "reisepass",
        ),
        weak=(
            "nationality",
            "date of birth",
            "place of birth",
            "date of expiry",
            "surname",
            "given names",
            "nationalité",
            "date de naissance",
            "staatsangehörigkeit",
            "geburtsdatum",
        ),
    ),
    Rule(
        "payslip",
        strong=(
            "payslip",
            "pay slip",
            "pay stub",
            "salary statement",
            "bulletin de paie",
            "bulletin de salaire",
            "fiche de paie",
            "gehaltsabrechnung",
            "lohnabrechnung",
        ),
        weak=(
            "gross pay",
            "net pay",
            "salary",
            "payroll",
            "employer",
            "employee",
            "earnings",
            "deductions",
            "income tax",
            "salaire",
            "employeur",
            "brutto",
            "netto",
        ),
    ),
    Rule(
        "invoice",
        strong=("invoice", "tax invoice", "facture", "rechnung"),
        weak=(
            "amount due",
            "invoice number",
            "bill to",
            "due date",
            "subtotal",
            "vat",
            "total due",
            "payment terms",
            "tva",
            "montant",
            "mwst",
            "rechnungsnummer",
        ),
    ),
)


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


_COMPILED = [(rule.kind, _pattern(rule.strong), _pattern(rule.weak)) for rule in RULES]


def score(text: str) -> dict[str, int]:
    """Points per kind for `text` (only kinds with any)."""
    points = {}
    for kind, strong, weak in _COMPILED:
        found_strong = {match.lower() for match in strong.findall(text)}
        found_weak = {match.lower() for match in weak.findall(text)}
        total = STRONG_POINTS * len(found_strong) + WEAK_POINTS * len(found_weak)
        if total:
            points[kind] = total
    return points


def classify(*, text: str, title: str = "", name: str = "") -> str:
    # "payslip_march-2026.pdf" reads as words.
    readable_name = re.sub(r"[_.\-]+", " ", name)
    points = score("\n".join((title, readable_name, text)))
    best = max(points.items(), key=lambda item: item[1], default=(OTHER, 0))
    return best[0] if best[1] >= THRESHOLD else OTHER
