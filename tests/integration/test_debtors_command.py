"""``huikuan debtors classify``: the run from the command line, as a table or JSON."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from huikuan.insights.models import ClassificationRun
from tests.integration.test_debtor_types import malicious_story

pytestmark = pytest.mark.django_db


def test_the_command_classifies_and_answers_in_json():
    malicious_story(get_user_model().objects.create_user("zhao.lei"))
    out = StringIO()

    call_command("debtors", "classify", "--as-of", "2024-06-30", "--format", "json", stdout=out)

    result = json.loads(out.getvalue())
    assert result["as_of"] == "2024-06-30" and result["customers"] == 1 and result["written"] == 1
    assert result["counts"] == {"MALICIOUS": 1}
    assert ClassificationRun.objects.get(pk=result["run_id"]).counts == {"MALICIOUS": 1}


def test_the_table_lists_every_type():
    out = StringIO()
    call_command("debtors", "classify", "--as-of", "2024-06-30", stdout=out)
    assert "Classified 0 overdue customers as of 2024-06-30." in out.getvalue()
    assert "undetermined" in out.getvalue()


def test_a_bad_date_is_a_usage_error():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("debtors", "classify", "--as-of", "30/06/2024")


def test_the_scheduled_task_classifies_for_the_day_it_is_given():
    from huikuan.insights.tasks import debtors_classify_task

    malicious_story(get_user_model().objects.create_user("zhao.lei"))

    result = debtors_classify_task(as_of="2024-06-30")

    assert result["counts"] == {"MALICIOUS": 1} and result["as_of"] == "2024-06-30"
