"""gunicorn settings for every City service, from the environment (vertical scaling).

WEB_CONCURRENCY worker processes (gunicorn reads it itself), each with GUNICORN_THREADS
threads. With threads > 1 the gthread worker keeps client connections alive, so a load
balancer reuses them instead of opening one per request.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))  # above HAProxy's idle timeout
# On SIGTERM, stop accepting and let requests in flight finish for this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Load Django before binding the port: a replica that a load balancer finds (by DNS) is
# refused, and retried elsewhere, until it can answer, instead of holding requests.
preload_app = True
# Our JSON request line replaces gunicorn's access log.
accesslog = None
errorlog = "-"
