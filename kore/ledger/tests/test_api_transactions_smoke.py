from kore.core.testing import assert_error, client_for


def test_record_and_list_a_transaction(world):
    api = client_for(world.member)
    base = f"/api/v1/orgs/{world.org.slug}"
    account = api.post(f"{base}/accounts/", {"name": "Bank", "currency": "EUR"}, format="json")
    assert account.status_code == 201, account.json()
    created = api.post(
        f"{base}/transactions/",
        {
            "account": account.json()["id"],
            "occurred_on": "2026-01-02",
            "amount": "-12.30",
            "tags": ["food"],
            "splits": [{"amount": "-10.00"}, {"amount": "-2.30"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["amount"] == "-12.30"
    listed = api.get(f"{base}/transactions/")
    assert [t["amount"] for t in listed.json()["results"]] == ["-12.30"]
    bad = api.post(
        f"{base}/transactions/",
        {"account": account.json()["id"], "occurred_on": "2026-01-02", "amount": "1.234"},
        format="json",
    )
    assert_error(bad, 422, "amount_precision")
    number = api.post(
        f"{base}/transactions/",
        {"account": account.json()["id"], "occurred_on": "2026-01-02", "amount": 1.5},
        format="json",
    )
    assert_error(number, 400)
