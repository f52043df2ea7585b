"""Clients of the split topology, as a person's programs would be: through HAProxy."""

import httpx


def as_user(topology, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=topology.url, headers={"Authorization": f"Token {token}"}, timeout=30
    )


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def register(topology, name: str, language: str = "en") -> dict:
    newcomer = {
        "username": name,
        "email": f"{name}@example.org",
        "password": "a-long-pass-phrase",
        "language": language,
    }
    return ok(httpx.post(f"{topology.url}/api/greeter/newcomers/", json=newcomer), 201)
