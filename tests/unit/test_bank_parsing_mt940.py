"""MT940 statements read into parsed records: three banks' dialects, envelopes, signs, dates, errors."""

from datetime import date
from decimal import Decimal

import pytest

from huikuan.banking.parsing import StatementFormat, StatementParseError
from huikuan.banking.parsing.mt940 import mt940_parse

D = Decimal


def read(shared_data, name):
    return mt940_parse((shared_data / "bank_statements" / name).read_bytes())


# --- ABN AMRO (expected values read from the file by hand) ------------------------------------


@pytest.mark.shared_data
def test_abn_amro_file_holds_two_statements_of_one_account(shared_data):
    first, second = read(shared_data, "abnamro.sta")

    assert {first.account_number, second.account_number} == {"517852257"}
    assert {first.currency, second.currency} == {"EUR"}
    assert first.format == StatementFormat.MT940
    assert first.identification == "ABN AMRO BANK NV 19321/1"
    assert second.identification == "ABN AMRO BANK NV 19322/1"
    assert (first.opening_balance, first.closing_balance) == (D("3236.28"), D("876.84"))
    assert (second.opening_balance, second.closing_balance) == (D("2876.84"), D("1849.75"))  # :60M:/:62M:


@pytest.mark.shared_data
def test_abn_amro_lines_are_debits_with_entry_and_value_dates(shared_data):
    first, second = read(shared_data, "abnamro.sta")

    assert [line.amount for line in first.lines] == [
        D("-9"), D("-11.59"), D("-11.63"), D("-11.8"), D("-13.45"), D("-15.49"), D("-107"), D("-141.48"),
    ]  # fmt: skip
    assert [line.amount for line in second.lines] == [D("-9.49"), D("-15")]
    # :61:1105210523D11,59 → value date 2011-05-21, entry (booking) date 05-23
    assert (first.lines[1].value_date, first.lines[1].booking_date) == (date(2011, 5, 21), date(2011, 5, 23))
    assert (first.lines[0].value_date, first.lines[0].booking_date) == (date(2011, 5, 24), date(2011, 5, 24))
    assert [line.transaction_code for line in first.lines[:2]] == ["N192", "N426"]
    assert {line.bank_reference for line in first.lines} == {""}  # NONREF and no //reference
    assert {line.end_to_end_id for line in first.lines} == {""}


@pytest.mark.shared_data
def test_abn_amro_multi_line_details_become_the_remittance(shared_data):
    first, second = read(shared_data, "abnamro.sta")

    assert "KPN - DIGITENNE" in first.lines[0].remittance
    assert first.lines[0].remittance.endswith("BETREFT FACTUUR D.D. 20-05-2011 INCL. 1,44 BTW")
    assert second.lines[1].remittance == "52.89.39.882 MYCOM DEN HAAG"


@pytest.mark.shared_data
def test_abn_amro_statements_that_do_not_balance_get_a_warning(shared_data):
    first, second = read(shared_data, "abnamro.sta")

    # 3236.28 - 321.44 = 2914.84 (file: 876.84); 2876.84 - 24.49 = 2852.35 (file: 1849.75)
    assert len(first.warnings) == 1 and "2914.84" in first.warnings[0]
    assert len(second.warnings) == 1 and "2852.35" in second.warnings[0]


# --- German SEPA with structured :86: ------------------------------------------------------------


@pytest.mark.shared_data
def test_sepa_statements_and_their_balances(shared_data):
    first, second = read(shared_data, "sepa_snippet.sta")

    assert first.account_number == "50880050/0194787400888"
    assert second.account_number == "50880050/0194791600888"
    assert first.identification == "T089414086000001 00004/00001"
    assert (first.opening_balance, first.closing_balance) == (D("766656.49"), D("1125250.4"))
    assert (second.opening_balance, second.closing_balance) == (D("-1970431.87"), D("-4472049.09"))  # D marks
    assert first.warnings == []  # 766656.49 + 50990.05 + 2 × 154551.93 - 1500.00 = 1125250.40
    assert len(second.warnings) == 1 and "300.08" in second.warnings[0]


@pytest.mark.shared_data
def test_sepa_lines_carry_their_signs_and_bank_references(shared_data):
    first, second = read(shared_data, "sepa_snippet.sta")

    assert [line.amount for line in first.lines] == [
        D("50990.05"),
        D("154551.93"),
        D("154551.93"),
        D("-1500.00"),
    ]
    assert [line.amount for line in second.lines] == [
        D("-0.08"), D("335.33"), D("15000"), D("15000.05"), D("125004.88"), D("915311.55"), D("-3572569.03"),
    ]  # fmt: skip
    assert [line.bank_reference for line in first.lines] == [
        "0724710333343453", "0724710324647450", "0724710324661090", "536D80EFEC56ACF8",
    ]  # fmt: skip
    # :61:0709070904CR50990,05 → value date 2007-09-07, booked 09-04; R is the funds code of EUR
    assert (first.lines[0].value_date, first.lines[0].booking_date) == (date(2007, 9, 7), date(2007, 9, 4))
    assert {line.currency for line in first.lines + second.lines} == {"EUR"}
    assert second.lines[-1].transaction_code == "NMSC"


@pytest.mark.shared_data
def test_sepa_structured_details_give_payer_account_end_to_end_id_and_purpose(shared_data):
    first, second = read(shared_data, "sepa_snippet.sta")
    karl, quentin = first.lines[0], first.lines[1]

    assert karl.counterparty_name == "KARL KAUFMANN"  # ?32KARL?33        KAUFMANN
    assert karl.counterparty_account == "DE14508800500194785000"  # ?31 across a line break
    assert karl.end_to_end_id == "EndToEndId TFNR 22 004 00001"  # EREF+ over ?20 and ?21
    assert karl.remittance == "Verw CTSc-01 BC-PPP TFNr 22 004"  # SVWZ+ over ?22 and ?23
    assert karl.extra["posting_text"] == "GUTSCHRIFT"
    assert quentin.counterparty_name == "Quentin Quast"
    assert quentin.counterparty_account == "DE03508800500194791600"
    assert quentin.end_to_end_id == "TFNR 0300300004"
    assert quentin.remittance == "Strukturierter Verwendungszweck 30030004 DE"
    renate = second.lines[3]
    assert renate.counterparty_name == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
    assert renate.counterparty_account == "DE42100100100043921105"
    assert renate.end_to_end_id == "EndToEndIdTFNR2000100001"


@pytest.mark.shared_data
def test_sepa_customer_reference_of_the_statement_line_is_kept(shared_data):
    _first, second = read(shared_data, "sepa_snippet.sta")

    assert second.lines[0].extra["customer_reference"] == "TFNr 40001 MSGID"
    assert second.lines[0].remittance.startswith("EREF+TFNR 40001 00005")  # no SVWZ+: the purpose whole


# --- mBank, between SOH and ETX --------------------------------------------------------------------


@pytest.mark.shared_data
def test_mbank_statement_between_soh_and_etx(shared_data):
    raw = (shared_data / "bank_statements" / "mt940.sta").read_bytes()
    assert raw.startswith(b"\x01") and raw.rstrip().endswith(b"\x03")

    [statement] = read(shared_data, "mt940.sta")

    assert statement.account_number == "PL29114010810000267002001002"
    assert statement.currency == "PLN"
    assert statement.identification == "ST170119CYC/1 1/1"
    assert (statement.opening_balance, statement.closing_balance) == (D("0.40"), D("0.43"))
    assert statement.warnings == []
    assert [line.amount for line in statement.lines] == [D("0.01")] * 3
    assert [line.bank_reference for line in statement.lines] == [
        "MB170119012058",
        "MB170119012085",
        "MB170119012121",
    ]
    assert {line.booking_date for line in statement.lines} == {date(2017, 1, 19)}
    assert {line.transaction_code for line in statement.lines} == {"NTRF"}


@pytest.mark.shared_data
def test_mbank_details_give_the_payer_account_and_name(shared_data):
    [statement] = read(shared_data, "mt940.sta")
    line = statement.lines[0]

    assert line.counterparty_account == "56114010810000267002001001"
    assert line.counterparty_name == "JAN NOWAK"
    assert "ID IPH: XX000000000001" in line.remittance
    assert "TNR: 179171073864111.010001" in line.remittance
    assert line.extra["supplementary_details"] == "911-TRANSAKCJA IPH"
    assert (line.extra["iph_id"], line.extra["tnr"]) == ("000000000001", "179171073864111.010001")


# --- written here ----------------------------------------------------------------------------------

ENVELOPED = (
    b"{1:F01ABNANL2AXXXX0000000000}{2:O9401200240102ABNANL2AXXXX00000000002401021200N}{4:\r\n"
    b":20:REF1\r\n"
    b":25:NL91ABNA0417164300\r\n"
    b":28C:12/1\r\n"
    b":60F:C231231EUR100,00\r\n"
    b":61:2312310102C50,00NTRFINV-1//BANK1\r\n"
    b":86:Payment invoice 123\r\n"
    b":61:2401020102RC5,00NTRFNONREF//BANK2\r\n"
    b":61:2401020102RD2,50NMSCNONREF//BANK3\r\n"
    b":61:2401020102D10,NCHGNONREF//BANK4\r\n"
    b":62F:C240102EUR137,50\r\n"
    b"-}{5:{CHK:0123456789AB}}"
)


def test_swift_envelope_is_read_and_the_balances_agree():
    [statement] = mt940_parse(ENVELOPED)

    assert statement.account_number == "NL91ABNA0417164300"
    assert statement.identification == "REF1 12/1"
    assert (statement.opening_balance, statement.closing_balance) == (D("100.00"), D("137.50"))
    assert statement.warnings == []


def test_reversal_marks_are_signed_like_the_money_moves():
    [statement] = mt940_parse(ENVELOPED)

    # C in, RC (reversed credit) out, RD (reversed debit) in, D out
    assert [line.amount for line in statement.lines] == [D("50.00"), D("-5.00"), D("2.50"), D("-10")]
    assert [line.extra["mark"] for line in statement.lines] == ["C", "RC", "RD", "D"]


def test_entry_date_in_january_after_a_december_value_date_is_in_the_next_year():
    [statement] = mt940_parse(ENVELOPED)
    line = statement.lines[0]

    assert line.value_date == date(2023, 12, 31)
    assert line.booking_date == date(2024, 1, 2)
    assert (statement.period_start, statement.period_end) == (date(2024, 1, 2), date(2024, 1, 2))


def test_entry_date_in_december_before_a_january_value_date_is_in_the_year_before():
    data = b":20:X\n:25:1\n:28C:1\n:60F:C240101EUR0,\n:61:2401021231C1,NTRFNONREF\n:62F:C240102EUR1,\n-"

    [statement] = mt940_parse(data)

    assert statement.lines[0].booking_date == date(2023, 12, 31)
    assert statement.lines[0].value_date == date(2024, 1, 2)


def test_customer_reference_stands_in_for_the_end_to_end_id_and_nonref_means_none():
    [statement] = mt940_parse(ENVELOPED)

    assert statement.lines[0].end_to_end_id == "INV-1"
    assert statement.lines[0].remittance == "Payment invoice 123"
    assert statement.lines[1].end_to_end_id == ""


def test_bank_references_are_read_after_the_double_slash():
    [statement] = mt940_parse(ENVELOPED)

    assert [line.bank_reference for line in statement.lines] == ["BANK1", "BANK2", "BANK3", "BANK4"]


def test_a_statement_line_without_an_entry_date_is_booked_on_its_value_date():
    data = b":20:X\n:25:1\n:28C:1\n:60F:C240101EUR0,\n:61:240105C1,00NTRFNONREF\n:62F:C240105EUR1,\n-"

    [line] = mt940_parse(data)[0].lines

    assert line.booking_date == line.value_date == date(2024, 1, 5)


def test_a_full_65_character_details_line_is_joined_without_a_space():
    first = "RECHNUNG 2024-0815 UND 2024-08" + "X" * 35  # 65 characters, cut mid-word
    data = f":20:X\n:25:1\n:28C:1\n:60F:C240101EUR0,\n:61:240105C1,NTRF\n:86:{first}\n16 DANKE\n:62F:C240105EUR1,\n-"

    [line] = mt940_parse(data.encode())[0].lines

    assert line.remittance == first + "16 DANKE"


def test_bad_statement_line_is_refused_with_its_line_number():
    data = ENVELOPED.replace(b":60F:C231231EUR", b":60F:C231331EUR")  # month 13

    with pytest.raises(StatementParseError, match="MT940 line 5: "):
        mt940_parse(data)


def test_unreadable_tag_is_refused_with_its_line_number():
    data = b":20:X\n:25:1\n:28C:1\n:60F:C240101EUR0,\n:61:240105C1,NTRF\n:61:NOT A LINE\n:62F:C240105EUR1,\n-"

    with pytest.raises(StatementParseError, match="MT940 line 6: cannot be read"):
        mt940_parse(data)


def test_statement_without_balances_is_refused_because_its_currency_is_unknown():
    with pytest.raises(StatementParseError, match="MT940 line 1: .*currency is unknown"):
        mt940_parse(b":20:X\n:25:1\n:61:2401010101C1,00NTRF\n")


def test_unknown_currency_is_refused():
    with pytest.raises(StatementParseError, match="XXY is not an ISO 4217"):
        mt940_parse(b":20:X\n:25:1\n:60F:C240101XXY1,00\n:62F:C240101XXY1,00\n-")


def test_balances_in_two_currencies_are_refused():
    with pytest.raises(StatementParseError, match="the balance is in USD, the statement in EUR"):
        mt940_parse(b":20:X\n:25:1\n:60F:C240101EUR1,00\n:62F:C240101USD1,00\n-")


def test_text_without_any_statement_is_refused():
    with pytest.raises(StatementParseError, match="no statement"):
        mt940_parse(b"ABNANL2A\n940\n:61:2401010101C1,00NTRF\n")


def test_latin_1_details_are_read_when_the_file_is_not_utf_8():
    data = ":20:X\n:25:1\n:60F:C240101EUR0,\n:61:240105C1,NTRF\n:86:Überweisung Müller\n:62F:C240105EUR1,\n-"

    [line] = mt940_parse(data.encode("latin-1"))[0].lines

    assert line.remittance == "Überweisung Müller"
