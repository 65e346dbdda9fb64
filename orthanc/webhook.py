# Orthanc Python plugin (orthanc-python 4.0, embedded Python 3.11, standard library only).
#
# Tells the PACS API that a study became stable (or was deleted) so it can ingest it at once.
# The webhook is only a hint: the API's reconciler reads Orthanc's /changes feed anyway, so a
# lost notification delays a study, it never loses one.
#
# Contract (the API's POST /api/ingest/orthanc verifies exactly this):
#   POST <PacsWebhook.Url>
#   Content-Type: application/json
#   X-Pacs-Timestamp: <unix seconds, integer, time of this attempt>
#   X-Pacs-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body bytes)>
#   body: {"event":"STABLE_STUDY"|"DELETED_STUDY","orthancStudyId":"<Orthanc study id>","sentAt":"<ISO 8601 UTC>"}
#
# Rules: the change callback only enqueues (never blocks Orthanc, never calls Orthanc's REST API);
# one worker thread delivers in order with a 2 s timeout, bounded retries with exponential back-off
# and jitter; a bounded queue; logs carry no patient data (Orthanc ids are opaque hashes).

import hashlib
import hmac
import json
import os
import queue
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import orthanc

USER_AGENT = "pacs-orthanc-webhook/1"


def _load_settings():
    try:
        section = json.loads(orthanc.GetConfiguration()).get("PacsWebhook") or {}
    except Exception:  # noqa: BLE001 - a broken section must not stop Orthanc
        section = {}

    def number(key, default, cast):
        try:
            value = cast(section.get(key, default))
            return value if value > 0 else default
        except (TypeError, ValueError):
            return default

    return {
        "url": (section.get("Url") or os.environ.get("PACS_WEBHOOK_URL") or "").strip(),
        "secret": section.get("Secret") or os.environ.get("PACS_WEBHOOK_SECRET") or "",
        "timeout": number("TimeoutSeconds", 2.0, float),
        "max_attempts": number("MaxAttempts", 6, int),
        "initial_backoff": number("InitialBackoffSeconds", 0.5, float),
        "max_backoff": number("MaxBackoffSeconds", 15.0, float),
        "queue_size": number("QueueSize", 10000, int),
    }


SETTINGS = _load_settings()
_queue = queue.Queue(maxsize=SETTINGS["queue_size"])
_stop = threading.Event()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected webhook is a misconfiguration: fail loudly rather than re-POST elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxies (the API is internal; an HTTP_PROXY in Orthanc's environment must not capture it).
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _safe_url(url):
    # Drop any user:password@ and query string from what we log.
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return "%s://%s%s" % (parts.scheme, host, parts.path)


def sign(secret, timestamp, body):
    """Hex HMAC-SHA256 over b"<timestamp>." + body."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _post_once(event, study_id):
    """One attempt. Returns (delivered, retryable, detail)."""
    sent_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = json.dumps(
        {"event": event, "orthancStudyId": study_id, "sentAt": sent_at}, separators=(",", ":")
    ).encode("utf-8")
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        SETTINGS["url"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Pacs-Timestamp": timestamp,
            "X-Pacs-Signature": "sha256=" + sign(SETTINGS["secret"], timestamp, body),
        },
    )
    try:
        with _opener.open(request, timeout=SETTINGS["timeout"]) as response:
            response.read(65536)
            return True, False, "HTTP %d" % response.status
    except urllib.error.HTTPError as error:
        code = error.code
        try:
            error.read(65536)
        except Exception:  # noqa: BLE001
            pass
        # 408/425/429 and 5xx may succeed later; other 4xx (bad signature, bad URL) will not.
        return False, code in (408, 425, 429) or code >= 500, "HTTP %d" % code
    except Exception as error:  # noqa: BLE001 - timeouts, refused connections, resets
        return False, True, type(error).__name__


def _backoff(attempt):
    # Exponential back-off with jitter: a random delay in [d/2, d], d = initial * 2^(attempt-1), capped.
    delay = min(SETTINGS["max_backoff"], SETTINGS["initial_backoff"] * (2 ** (attempt - 1)))
    return delay / 2 + random.random() * delay / 2


# After an event exhausted its retries the API is presumably down: later events get a single
# attempt each (the queue keeps draining instead of growing) until one is delivered again.
_degraded = False


def _deliver(event, study_id):
    global _degraded
    attempts = 1 if _degraded else SETTINGS["max_attempts"]
    for attempt in range(1, attempts + 1):
        if _stop.is_set():
            return
        delivered, retryable, detail = _post_once(event, study_id)
        if delivered:
            if _degraded:
                orthanc.LogWarning("PACS webhook: delivered again, leaving degraded mode")
            _degraded = False
            orthanc.LogInfo("PACS webhook: %s %s delivered (attempt %d, %s)" % (event, study_id, attempt, detail))
            return
        if not retryable:
            orthanc.LogWarning(
                "PACS webhook: %s %s rejected by %s (%s), not retried; the reconciler will pick it up"
                % (event, study_id, _safe_url(SETTINGS["url"]), detail)
            )
            return
        if attempt < attempts:
            delay = _backoff(attempt)
            orthanc.LogInfo(
                "PACS webhook: %s %s attempt %d failed (%s), retrying in %.2f s" % (event, study_id, attempt, detail, delay)
            )
            if _stop.wait(delay):
                return
    _degraded = True
    orthanc.LogWarning(
        "PACS webhook: %s %s not delivered to %s after %d attempt(s) (%s); the reconciler will pick it up"
        % (event, study_id, _safe_url(SETTINGS["url"]), attempts, detail)
    )


def _worker():
    while not _stop.is_set():
        try:
            event, study_id = _queue.get(timeout=0.5)
        except queue.Empty:
            continue
        try:
            _deliver(event, study_id)
        except Exception as error:  # noqa: BLE001 - the worker must survive anything
            if not _stop.is_set():
                orthanc.LogWarning("PACS webhook: unexpected %s while delivering" % type(error).__name__)
        finally:
            _queue.task_done()


_thread = None


def _enqueue(event, study_id):
    try:
        _queue.put_nowait((event, study_id))
    except queue.Full:
        orthanc.LogWarning("PACS webhook: queue full, %s %s dropped; the reconciler will pick it up" % (event, study_id))


def on_change(change_type, level, resource_id):
    # Runs on Orthanc's thread: enqueue and return, nothing else.
    if level == orthanc.ResourceType.STUDY:
        if change_type == orthanc.ChangeType.STABLE_STUDY:
            _enqueue("STABLE_STUDY", resource_id)
        elif change_type == orthanc.ChangeType.DELETED:
            _enqueue("DELETED_STUDY", resource_id)
    elif change_type == orthanc.ChangeType.ORTHANC_STOPPED:
        _stop.set()
        if _thread is not None:
            _thread.join(SETTINGS["timeout"] + 0.5)


if not SETTINGS["url"]:
    orthanc.LogWarning("PACS webhook: PacsWebhook.Url is empty, notifications disabled (the reconciler still ingests)")
elif not SETTINGS["secret"]:
    orthanc.LogWarning("PACS webhook: PacsWebhook.Secret is empty, notifications disabled")
else:
    _thread = threading.Thread(target=_worker, name="pacs-webhook", daemon=True)
    _thread.start()
    orthanc.RegisterOnChangeCallback(on_change)
    orthanc.LogWarning("PACS webhook: notifying %s on stable and deleted studies" % _safe_url(SETTINGS["url"]))
