from __future__ import annotations

from dashboard import launcher


def test_an_empty_test_selection_fails_instead_of_passing_silently(capsys):
    code = launcher.test(["tests/dashboard/test_launcher.py", "-k", "no_test_has_this_name", "-q"])
    assert code == 1
    assert "collected no tests" in capsys.readouterr().out
