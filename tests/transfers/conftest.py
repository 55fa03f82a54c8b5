import pytest

TEST_BANKS = {"1633", "0161", "0001", "0005", "0009", "0159", "9900", "0010"}


@pytest.fixture(autouse=True)
def transfers_reference(request):
    """A few real Zengin banks (all of them take seconds), the fee table and the simulated
    interbank accounts; transactional tests flush them, so put them back every time."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("reference_data")
    from transfers.banks import zengin_load
    from transfers.demo import interbank_accounts_ensure, reference_ensure

    zengin_load(codes=TEST_BANKS)
    reference_ensure()
    interbank_accounts_ensure()
