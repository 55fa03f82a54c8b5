"""dev.py test runs the suite on pytest-xdist workers unless told otherwise (README): the
options it adds, and that a caller's own choice is left alone."""

import dev


def test_workers_default_to_the_cores_at_most_four(monkeypatch):
    monkeypatch.delenv("COSEI_TEST_WORKERS", raising=False)
    monkeypatch.setattr(dev.os, "cpu_count", lambda: 2)
    assert dev.test_workers(["-q", "tests/accounts"]) == ["-n", "2", "--dist", "loadfile"]
    monkeypatch.setattr(dev.os, "cpu_count", lambda: 16)
    assert dev.test_workers([]) == ["-n", "4", "--dist", "loadfile"]
    monkeypatch.setenv("COSEI_TEST_WORKERS", "3")
    assert dev.test_workers([]) == ["-n", "3", "--dist", "loadfile"]


def test_a_callers_choice_is_kept():
    for args in (["-n", "0"], ["-n0"], ["--numprocesses=1"], ["-p", "no:xdist"]):
        assert dev.test_workers(args) == [], args
