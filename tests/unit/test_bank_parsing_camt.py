"""camt.053 statements read into parsed records: the real bank files, every version, unsafe XML."""

from datetime import date
from decimal import Decimal

import pytest

from huikuan.banking.parsing import StatementFormat, StatementParseError
from huikuan.banking.parsing.camt import camt_parse

D = Decimal


def read(shared_data, name):
    return camt_parse((shared_data / "bank_statements" / name).read_bytes())


# --- the real files (expected values read from the files by hand) -----------------------------


@pytest.mark.shared_data
def test_abn_amro_001_02_statement_has_its_account_balances_and_four_lines(shared_data):
    [statement] = read(shared_data, "test-camt053.xml")

    assert statement.format == StatementFormat.CAMT053
    assert statement.account_number == "NL77ABNA0574908765"
    assert statement.currency == "EUR"
    assert statement.identification == "1234Test/1"
    assert (statement.period_start, statement.period_end) == (date(2014, 1, 5), date(2014, 1, 5))
    assert statement.opening_balance == D("15568.27")
    assert statement.closing_balance == D("15121.12")
    assert [line.amount for line in statement.lines] == [
        D("-754.25"),
        D("-564.05"),
        D("-100.00"),
        D("1405.31"),
    ]
    assert {line.booking_date for line in statement.lines} == {date(2014, 1, 5)}
    assert {line.value_date for line in statement.lines} == {date(2014, 1, 5)}
    assert {line.currency for line in statement.lines} == {"EUR"}


@pytest.mark.shared_data
def test_abn_amro_debit_names_the_creditor_and_the_credit_names_the_debtor(shared_data):
    [statement] = read(shared_data, "test-camt053.xml")
    insurance, _first, _second, media = statement.lines

    assert insurance.counterparty_name == "INSURANCE COMPANY TESTX"
    assert insurance.counterparty_account == "NL46ABNA0499998748"
    assert insurance.end_to_end_id == "435005714488-ABNO33052620"
    assert insurance.remittance == "Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014"
    assert insurance.transaction_code == "PMNT/RDDT/ESDD"
    assert media.counterparty_name == "3rd party Media"
    assert media.counterparty_account == "NL69ABNA0522123643"
    assert media.end_to_end_id == "115"
    assert media.transaction_code == "PMNT/RCDT/ESCT"
    assert media.is_credit and not insurance.is_credit


@pytest.mark.shared_data
def test_abn_amro_batched_direct_debit_becomes_one_line_per_transaction(shared_data):
    [statement] = read(shared_data, "test-camt053.xml")
    first, second = statement.lines[1:3]

    assert (first.amount, second.amount) == (D("-564.05"), D("-100.00"))  # entry total 664.05
    assert first.end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert second.end_to_end_id == "TESTBANK/NL/20141229/01206407"
    assert first.counterparty_name == second.counterparty_name == "Test Customer"
    assert first.remittance == "Direct Debit S14 0410"
    assert first.extra["reversal"] is True


@pytest.mark.shared_data
def test_abn_amro_file_that_does_not_balance_gets_a_warning(shared_data):
    [statement] = read(shared_data, "test-camt053.xml")

    # 15568.27 - 754.25 - 664.05 + 1405.31 = 15555.28, the file says 15121.12
    [warning] = statement.warnings
    assert "15555.28" in warning and "15121.12" in warning


@pytest.mark.shared_data
def test_swiss_001_04_batched_credit_is_split_by_its_two_transactions(shared_data):
    [statement] = read(shared_data, "test-camt053-txdtls")

    assert statement.account_number == "CH1111000000123456789"
    assert statement.currency == "CHF"
    assert statement.identification == "20170323123456789012345/58"
    assert statement.opening_balance == D("75960.15")
    assert statement.closing_balance == D("79443.15")
    assert statement.warnings == []  # 75960.15 + 3483.00 = 79443.15
    first, second = statement.lines
    assert (first.amount, second.amount) == (D("2187.00"), D("1296.00"))
    assert first.structured_reference == "302388292000011111111111111"
    assert second.structured_reference == "302388292000022222222222222"
    assert first.counterparty_account == "CH2222000000123456789"
    assert second.counterparty_account == "CH3333000000123456789"
    assert first.counterparty_name == "Banque Cantonale Vaudoise"
    assert (first.booking_date, first.value_date) == (date(2017, 3, 22), date(2017, 3, 23))
    assert first.transaction_code == "PMNT/RCDT/AUTT"


@pytest.mark.shared_data
def test_split_lines_get_references_of_their_own_even_when_the_bank_repeats_one(shared_data):
    [statement] = read(shared_data, "test-camt053-txdtls")

    # Both transactions carry AcctSvcrRef 123456CHCAFEBABE; the entry's is 2017032300123456789…
    assert [line.bank_reference for line in statement.lines] == [
        "20170323001234567891234567891234/1",
        "20170323001234567891234567891234/2",
    ]


@pytest.mark.shared_data
def test_swiss_001_08_credit_with_the_party_wrapped_in_pty(shared_data):
    [statement] = read(shared_data, "camt053.xml")

    assert statement.account_number == "0035-2915203-10-000"  # Othr/Id, no IBAN
    assert statement.currency == "CHF"  # Acct/Ccy
    assert statement.identification == "bc8b8e304a825671937ffa86f49ab6f1/12"
    assert (statement.opening_balance, statement.closing_balance) == (D("832.01"), D("2116.31"))
    assert statement.warnings == []
    [line] = statement.lines
    assert line.amount == D("1284.30")
    assert line.booking_date == date(2023, 1, 25)
    assert line.counterparty_name == "PAYEE"
    assert line.end_to_end_id == "9502830971"
    assert line.remittance == "PAYMENT INFO"
    assert line.bank_reference == "8082230156M02SJ62/1010"
    assert line.transaction_code == "PMNT/RCDT/DMCT"


# --- every version, written here ---------------------------------------------------------------


def camt(version: int, entries: str, *, balances: str | None = None, account: str | None = None) -> bytes:
    """Return a small camt.053.001.0N document with the given entries."""
    if balances is None:
        balances = balance("OPBD", "100.00") + balance("CLBD", "320.00")
    account = account or "<Id><IBAN>DE89370400440532013000</IBAN></Id>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.0{version}">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-03-02T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-7</Id><ElctrncSeqNb>7</ElctrncSeqNb>
   <FrToDt><FrDtTm>2024-03-01T00:00:00+01:00</FrDtTm><ToDtTm>2024-03-01T23:59:59+01:00</ToDtTm></FrToDt>
   <Acct>{account}</Acct>
   {balances}
   {entries}
  </Stmt>
 </BkToCstmrStmt>
</Document>""".encode()


def balance(kind: str, amount: str, sign: str = "CRDT", currency: str = "EUR") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp><Amt Ccy='{currency}'>{amount}</Amt>"
        f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>"
    )


def status(version: int, code: str = "BOOK") -> str:
    return f"<Sts><Cd>{code}</Cd></Sts>" if version >= 8 else f"<Sts>{code}</Sts>"


def party(version: int, role: str, name: str, iban: str) -> str:
    inner = f"<Nm>{name}</Nm>"
    wrapped = f"<Pty>{inner}</Pty>" if version >= 8 else inner
    return f"<{role}>{wrapped}</{role}><{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"


def tx_amount(version: int, amount: str) -> str:
    if version >= 4:
        return f"<Amt Ccy='EUR'>{amount}</Amt>"
    return f"<AmtDtls><TxAmt><Amt Ccy='EUR'>{amount}</Amt></TxAmt></AmtDtls>"


def entries(version: int) -> str:
    """A batched credit of two payments, a pending entry, and a debit: 100 + 250 - 30 = 320."""
    return f"""
   <Ntry>
    <Amt Ccy="EUR">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>{status(version)}
    <BookgDt><Dt>2024-03-01</Dt></BookgDt><ValDt><Dt>2024-03-01</Dt></ValDt>
    <AcctSvcrRef>E1</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls>
     <TxDtls>
      <Refs><EndToEndId>E2E-A</EndToEndId></Refs>{tx_amount(version, "150.00")}
      <RltdPties>{party(version, "Dbtr", "Alpha Trading Ltd", "GB29NWBK60161331926819")}</RltdPties>
      <RmtInf><Ustrd>INV-1001</Ustrd><Ustrd>INV-1002</Ustrd></RmtInf>
     </TxDtls>
     <TxDtls>
      <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>{tx_amount(version, "100.00")}
      <RltdPties>{party(version, "Dbtr", "Beta GmbH", "DE44500105175407324931")}</RltdPties>
      <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf>
       <AddtlRmtInf>thanks</AddtlRmtInf></Strd></RmtInf>
     </TxDtls>
    </NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">999.99</Amt><CdtDbtInd>CRDT</CdtDbtInd>{status(version, "PDNG")}
    <BookgDt><Dt>2024-03-01</Dt></BookgDt><AcctSvcrRef>E2</AcctSvcrRef>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>{status(version)}
    <BookgDt><DtTm>2024-03-01T10:15:00</DtTm></BookgDt>
    <AcctSvcrRef>E3</AcctSvcrRef>
    <BkTxCd><Prtry><Cd>FEE</Cd></Prtry></BkTxCd>
    <NtryDtls><TxDtls>
     <RltdPties>{party(version, "Cdtr", "Gamma Bank", "NL91ABNA0417164300")}</RltdPties>
     <RmtInf><Ustrd>account fee</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>"""


VERSIONS = [2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_reads_the_statement_and_its_balances(version):
    [statement] = camt_parse(camt(version, entries(version)))

    assert statement.account_number == "DE89370400440532013000"
    assert statement.currency == "EUR"
    assert statement.identification == "STMT-7/7"
    assert (statement.period_start, statement.period_end) == (date(2024, 3, 1), date(2024, 3, 1))
    assert (statement.opening_balance, statement.closing_balance) == (D("100.00"), D("320.00"))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_splits_a_batched_credit_into_its_payments(version):
    [statement] = camt_parse(camt(version, entries(version)))
    alpha, beta, fee = statement.lines

    assert [line.amount for line in statement.lines] == [D("150.00"), D("100.00"), D("-30.00")]
    assert (alpha.counterparty_name, alpha.counterparty_account) == (
        "Alpha Trading Ltd",
        "GB29NWBK60161331926819",
    )
    assert alpha.remittance == "INV-1001 INV-1002"
    assert alpha.end_to_end_id == "E2E-A"
    assert (beta.counterparty_name, beta.counterparty_account) == ("Beta GmbH", "DE44500105175407324931")
    assert beta.structured_reference == "RF18539007547034"
    assert beta.remittance == "thanks"
    assert beta.end_to_end_id == ""  # NOTPROVIDED
    assert (fee.counterparty_name, fee.counterparty_account) == ("Gamma Bank", "NL91ABNA0417164300")
    assert fee.booking_date == date(2024, 3, 1)  # from DtTm
    assert fee.value_date is None
    assert [line.bank_reference for line in statement.lines] == ["E1/1", "E1/2", "E3"]
    assert [line.transaction_code for line in statement.lines] == ["PMNT/RCDT/ESCT", "PMNT/RCDT/ESCT", "FEE"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_leaves_out_entries_not_booked_and_says_how_many(version):
    [statement] = camt_parse(camt(version, entries(version)))

    assert D("999.99") not in [line.amount for line in statement.lines]
    assert statement.warnings == ["1 entry not booked yet (PDNG 1) was left out"]


def test_opening_plus_lines_differing_from_the_closing_balance_is_a_warning_not_an_error():
    data = camt(4, entries(4), balances=balance("OPBD", "100.00") + balance("CLBD", "300.00"))

    [statement] = camt_parse(data)

    assert len(statement.lines) == 3
    assert any("does not balance" in warning and "-20.00" in warning for warning in statement.warnings)


def test_debit_balances_are_negative_and_the_previous_closing_balance_serves_as_opening():
    entry = (
        "<Ntry><Amt Ccy='EUR'>50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
        "<BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>"
    )
    data = camt(2, entry, balances=balance("PRCD", "80.00", "DBIT") + balance("CLBD", "30.00", "DBIT"))

    [statement] = camt_parse(data)

    assert (statement.opening_balance, statement.closing_balance) == (D("-80.00"), D("-30.00"))
    assert statement.warnings == []


def test_the_account_currency_comes_from_the_balances_when_the_account_has_none():
    [statement] = camt_parse(
        camt(5, "", balances=balance("OPBD", "1", currency="CHF") + balance("CLBD", "1", currency="CHF"))
    )

    assert statement.currency == "CHF"
    assert statement.lines == []


def test_a_batch_without_amounts_per_transaction_stays_one_line_with_a_warning():
    entry = """<Ntry><Amt Ccy="EUR">70.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2024-03-01</Dt></BookgDt><AcctSvcrRef>B1</AcctSvcrRef>
      <NtryDtls><TxDtls><Refs><EndToEndId>X</EndToEndId></Refs></TxDtls>
                <TxDtls><Refs><EndToEndId>Y</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>"""

    [statement] = camt_parse(camt(3, entry, balances=""))

    [line] = statement.lines
    assert (line.amount, line.bank_reference, line.end_to_end_id) == (D("70.00"), "B1", "X")
    assert any("kept as one line" in warning for warning in statement.warnings)


def test_split_entry_without_a_reference_uses_the_transactions_own_references():
    entry = """<Ntry><Amt Ccy="EUR">3.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2024-03-01</Dt></BookgDt>
      <NtryDtls><TxDtls><Refs><AcctSvcrRef>T1</AcctSvcrRef></Refs><Amt Ccy="EUR">1.00</Amt></TxDtls>
                <TxDtls><Refs><AcctSvcrRef>T2</AcctSvcrRef></Refs><Amt Ccy="EUR">2.00</Amt></TxDtls></NtryDtls></Ntry>"""

    [statement] = camt_parse(camt(4, entry, balances=""))

    assert [line.bank_reference for line in statement.lines] == ["T1", "T2"]


def test_two_entries_the_bank_gave_the_same_reference_keep_it_as_given():
    entry = """<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2024-03-01</Dt></BookgDt><AcctSvcrRef>SAME</AcctSvcrRef></Ntry>"""

    [statement] = camt_parse(camt(6, entry * 2, balances=""))

    assert [line.bank_reference for line in statement.lines] == ["SAME", "SAME"]


def test_splitting_warns_when_the_transactions_do_not_add_up_to_the_entry():
    entry = """<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2024-03-01</Dt></BookgDt><AcctSvcrRef>R</AcctSvcrRef>
      <NtryDtls><TxDtls><Amt Ccy="EUR">1.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">2.00</Amt></TxDtls></NtryDtls></Ntry>"""

    [statement] = camt_parse(camt(7, entry, balances=""))

    assert any("add up to 3.00" in warning for warning in statement.warnings)


# --- what is refused, and how it is said -------------------------------------------------------


def test_a_bad_amount_names_the_element():
    entry = "<Ntry><Amt Ccy='EUR'>12,50</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>"

    with pytest.raises(StatementParseError, match=r"Stmt\[1\]/Ntry\[1\]/Amt: '12,50' is not an amount"):
        camt_parse(camt(2, entry, balances=""))


def test_more_decimals_than_the_currency_has_are_refused():
    entry = "<Ntry><Amt Ccy='JPY'>12.5</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>"

    with pytest.raises(StatementParseError, match="more decimal places than JPY"):
        camt_parse(camt(2, entry, balances=""))


def test_a_missing_credit_debit_indicator_is_refused():
    entry = "<Ntry><Amt Ccy='EUR'>1.00</Amt><BookgDt><Dt>2024-03-01</Dt></BookgDt></Ntry>"

    with pytest.raises(StatementParseError, match="CdtDbtInd must be CRDT or DBIT"):
        camt_parse(camt(2, entry, balances=""))


def test_an_impossible_date_is_refused():
    entry = "<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2024-02-30</Dt></BookgDt></Ntry>"

    with pytest.raises(StatementParseError, match=r"BookgDt: '2024-02-30' is not a date"):
        camt_parse(camt(2, entry, balances=""))


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.09", "version 001.09"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.054.001.02", "camt.054.001.02 message, not a camt.053"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", "pain.001.001.03 message"),
        ("http://example.com/invoice", "not an ISO 20022 camt.053"),
    ],
)
def test_other_xml_documents_are_refused_saying_what_they_are(namespace, message):
    with pytest.raises(StatementParseError, match=message):
        camt_parse(f'<Document xmlns="{namespace}"><BkToCstmrStmt/></Document>'.encode())


def test_xml_without_a_namespace_is_refused():
    with pytest.raises(StatementParseError, match="not an ISO 20022 camt.053"):
        camt_parse(b"<Document><BkToCstmrStmt><Stmt/></BkToCstmrStmt></Document>")


def test_a_document_without_statements_is_refused():
    with pytest.raises(StatementParseError, match="no statement"):
        camt_parse(
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>'
        )


def test_broken_xml_is_refused():
    with pytest.raises(StatementParseError, match="not well-formed"):
        camt_parse(b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>')


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://example.com/camt.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>"""

PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ELEMENT Document ANY>]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PLAIN_DTD],
    ids=["bomb", "entity", "dtd-url", "dtd"],
)
def test_unsafe_xml_is_refused_for_safety(data):
    with pytest.raises(StatementParseError, match="refused for safety") as refused:
        camt_parse(data)

    assert "root:" not in refused.value.message  # nothing of /etc/passwd was read
