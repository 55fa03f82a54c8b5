"""Issue 7, "one move": security builds on accounts, never the other way round at import
time. accounts' admin, models, selectors, forms and services import nothing of security at
module level; the staff's security operations on a customer live in security/. (accounts'
views use security's login guard and audit log, as every customer-facing app does; that
is the web layer depending on authentication, not a cycle: security imports no view.)"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _module_level_imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_accounts_core_modules_do_not_import_security():
    for name in ("admin.py", "models.py", "selectors.py", "forms.py", "services.py", "errors.py"):
        imports = _module_level_imports(ROOT / "accounts" / name)
        assert not {module for module in imports if module.split(".")[0] == "security"}, name


def test_security_imports_no_accounts_view_or_admin():
    for path in (ROOT / "security").rglob("*.py"):
        imports = _module_level_imports(path)
        assert "accounts.views" not in imports, path
    # the customer admin is security's; accounts.admin only gives it the ledger's inline
    assert "accounts.admin" in _module_level_imports(ROOT / "security" / "customer_admin.py")
