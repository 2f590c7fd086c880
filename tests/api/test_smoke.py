from tests.factories import bruno_example


def test_bruno_example_initializes_two(client, sender):
    resp = client.post("/correspondence/api/v1/correspondence", json=bruno_example(), headers=sender)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [c["recipient"] for c in body["correspondences"]] == [
        "urn:altinn:organization:identifier-no:313721779", "urn:altinn:person:identifier-no:08900499559"]
