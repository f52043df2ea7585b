import pytest

from apps.documents import kinds


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("RESIDENTIAL LEASE AGREEMENT between the landlord and the tenant", "lease"),
        ("Contrat de location. Le locataire paie le loyer.", "lease"),
        ("Mietvertrag zwischen Vermieter und Mieter", "lease"),
        ("PASSPORT  Surname: LOVELACE  Given names: ADA  Nationality: GBR", "identity"),
        ("Carte d'identité — date de naissance 10.12.1815", "identity"),
        ("Payslip March 2026. Gross pay 3000. Net pay 2100.", "payslip"),
        ("Bulletin de paie — salaire net", "payslip"),
        ("INVOICE No. 42 — Bill to: Ada. Amount due: 120 EUR. VAT 20%", "invoice"),
        ("Rechnung Nr. 7, MwSt 19%", "invoice"),
        ("Meeting notes about the garden", "other"),
        ("", "other"),
    ],
)
def test_kind_from_text(text, kind):
    assert kinds.classify(text=text) == kind


def test_three_weak_words_are_enough_and_two_are_not():
    assert kinds.classify(text="salary, employer, deductions") == "payslip"
    assert kinds.classify(text="salary and employer") == "other"


def test_words_match_whole_words_only():
    # "rent" in "current", "vat" in "private", "lease" in "please"
    assert kinds.score("current private please") == {}


def test_each_word_counts_once():
    assert kinds.score("tenant tenant tenant") == {"lease": 1}


def test_the_kind_with_most_points_wins_and_ties_go_to_the_first_rule():
    # an invoice for rent: invoice (3 + 1) beats lease (1)
    assert kinds.classify(text="Invoice: rent for March, amount due 900") == "invoice"
    assert kinds.classify(text="Lease. Invoice.") == "lease"
