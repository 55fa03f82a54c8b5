"""The text of a trigger function as an earlier migration of this app created it — the
reverse of a migration that extends it, and the base of its forward (not a migration:
the loader skips modules named with a leading underscore)."""

from pathlib import Path

LAST = "    RETURN NEW;\nEND $$;"


def function_of(migration: str, name: str) -> str:
    """``CREATE OR REPLACE`` of function ``name`` as ``migration`` (a file name here) wrote it."""
    source = Path(__file__).with_name(migration).read_text()
    start = source.index(f"CREATE FUNCTION public.{name}()")
    end = source.index("END $$;", start) + len("END $$;")
    return source[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def extended(function: str, *, declarations: str, checks: str) -> str:
    """``function`` with ``declarations`` added to its DECLARE block (it has one) and
    ``checks`` run after its own, before its last ``RETURN NEW``."""
    begin = "\nBEGIN\n"
    assert function.count(begin) == 1 and function.endswith(LAST), "not the function text expected"
    if declarations and "\nDECLARE\n" not in function:
        declarations = "DECLARE\n" + declarations
    function = function.replace(begin, "\n" + declarations + "BEGIN\n")
    return function[: -len(LAST)] + checks + LAST
