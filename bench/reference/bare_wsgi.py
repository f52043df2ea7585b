"""The ceiling for Python on this server: a WSGI callable returning the greeting's bytes."""

BODY = b'{"message":"Bonjour, Ada ! Bienvenue dans la ville.","lang":"fr"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
