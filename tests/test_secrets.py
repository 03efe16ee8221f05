"""The secrets check the end-to-end tests run (conftest.leaks) finds a leak, and says where
without repeating the secret."""

from __future__ import annotations

from conftest import leaks


def test_a_leak_is_found_and_named_without_the_secret():
    secret = "ghp_0123456789abcdefTESTTOKEN"
    texts = {"stderr": f"dispatching with token {secret}\n", "summary": "Sent `model_approved`."}
    found = leaks(texts, {"GitHub token": secret, "unset secret": ""})
    assert found == ["GitHub token in stderr"]
    assert secret not in " ".join(found)


def test_nothing_is_found_in_clean_output():
    assert leaks({"stdout": "all masked: ***"}, {"GitHub token": "ghp_0123456789abcdef"}) == []
