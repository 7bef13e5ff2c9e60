"""Gunicorn settings for every api: ``--config python:dbt_shared.gunicorn_conf``."""

import os
import tempfile

from prometheus_client import multiprocess

from dbt_shared.heap import freeze_startup_objects

workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Gunicorn's largest request line (its default is 4094): a query within the documented bounds
# (the audit trail's five filters of up to 200 characters and a cursor, percent-encoded at up to
# 12 bytes a character) needs up to about 7,900 bytes. Gunicorn answers a longer one 414.
limit_request_line = 8190
# A read-only root filesystem in Kubernetes: heartbeat files go to the writable temp dir.
worker_tmp_dir = os.environ.get("GUNICORN_TMP_DIR", tempfile.gettempdir())
# Eight masters on one machine (and a read-only root in Kubernetes): no shared control socket.
control_socket_disable = True
accesslog = None  # the app logs each request itself, as JSON, with the route template only
errorlog = "-"


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    # The app is loaded: what it built stays, so the collector need not walk it again.
    freeze_startup_objects()
