# The transfers' reference data (a few Zengin banks, the fee table, the interbank accounts)
# for every database test here: a transactional test elsewhere may have flushed them.
from tests.transfers.conftest import transfers_reference  # noqa: F401 - an autouse fixture
