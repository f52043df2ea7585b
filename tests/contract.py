"""The error contract, as the tests read it."""


def error_of(response) -> dict:
    """The error of a response, checked to be in the contract's shape."""
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]
