#!/usr/bin/env python3
"""Logging HTTP/1.1 reverse proxy for the p3backup integration tests.

Sits between a client (p3backup, aws, curl) and s3rver on loopback and
forwards every request unchanged: method, request target exactly as
received (never re-encoded), all headers in order (Host, Authorization
included, so SigV4 signatures still verify), and the body (Content-Length
or chunked framing, passed through byte for byte).  The response goes back
unchanged: status, reason, headers and body (none for HEAD, 1xx, 204, 304).
Client keep-alive and many concurrent connections are supported; each
client connection keeps its own keep-alive connection upstream.

    python3 tests/s3proxy.py --listen-port 0 --upstream 127.0.0.1:PORT \\
        --log FILE --port-file FILE2 [--rewrite-list MAP.json] \\
        [--verify-sigv4 ACCESS_KEY:SECRET]... [--kms]

--listen-port 0 binds a free port on 127.0.0.1; once listening, the port
number is written to --port-file (temp file + rename, so a reader never
sees it half written).  SIGTERM (or SIGINT) exits cleanly with status 0.

--log gets one line per client request, appended and flushed at once:
    METHOD<TAB>PATH?QUERY<TAB>STATUS
PATH?QUERY is the request target as received.  STATUS is the status sent
to the client: 502 when upstream could not be reached or failed, 000 when
the client went away before its request was read in full.
--log-header NAME (repeatable) appends <TAB>name=VALUE for each such
header the request has, so tests can see what was sent.

--rewrite-list MAP.json: a JSON object {original: replacement}.  In the
response to any GET whose query has list-type=2, each <Key>TEXT</Key> whose
TEXT is a key of the map is replaced by its value, verbatim; Content-Length
is fixed.  TEXT is matched as sent: XML-escaped, and URL-encoded only if the
server honours encoding-type=url (s3rver 3.7.1 ignores it and sends no
<EncodingType>, so clients that follow that element must not decode).
The file is re-read on every listing, so a test may change it mid-run.
This presents hostile keys (e.g. ../escape) without planting them in s3rver.

--verify-sigv4 ACCESS_KEY:SECRET (repeatable): s3rver 3.7.1 never checks
SigV4 signatures, so verify_sigv4() checks each request as S3 does, with
hashlib/hmac only, before it is forwarded: path decoded and re-encoded (all
but A-Za-z0-9-._~/ as %XX; '.', '..', '//' kept); query split on '&',
decoded per RFC 3986 ('+' stays '+'), re-encoded, sorted; signed header
values trimmed, space runs collapsed, repeats joined by ','; hex
x-amz-content-sha256 must match the body (STREAMING-* chunk signatures are
not checked); x-amz-date within 15 minutes.  Failures never reach s3rver:
the proxy answers like S3 (XML <Error>, e.g. 403 SignatureDoesNotMatch,
InvalidAccessKeyId, AccessDenied for a missing/garbled Authorization or a
presigned URL; no body for HEAD; keep-alive kept; logged with the status)
and, on SignatureDoesNotMatch, prints its canonical request to stderr.

--check-md5: a body that does not match its Content-MD5 is answered
400 BadDigest (S3's check; s3rver lacks it).  Order of checks: SigV4
signature, then Content-MD5, then the x-amz-content-sha256 payload hash.

Fault injection (never reaches s3rver; the request is read in full first):
  --fail-every N    every Nth request is answered 503 SlowDown
  --drop-every N    every Nth request: the connection is closed, no answer
  --fault-rate R --seed S [--stall-seconds T]: each request, with
      probability R, gets one fault picked evenly among
        503    503 SlowDown, S3's XML error
        500    500 InternalError
        drop   connection closed after the request is read, no answer
        stall  no answer for T seconds (default 8), then the connection
               is closed: past the client's timeout
        flip   one byte of the request body is flipped (headers kept)
               before the checks, so --check-md5 answers 400 BadDigest
               (or the SigV4 payload hash check 400
               XAmzContentSHA256Mismatch when no Content-MD5 is sent);
               a request without a body is forwarded unharmed
      Draws come from random.Random(S) under one lock, so a run's
      sequence of faults is repeatable (their mapping onto requests
      follows the order in which concurrent requests arrive).
Faulted requests are logged with STATUS set to the fault's name: 503,
500, drop, stall, flip (an injected 503/500 is logged as that number;
a flipped request is logged as "flip" whatever the answer was; a stall
is logged when it begins, so it counts where its request came).

Hostile answers, for tests/hostile.sh (never reach s3rver either):
  --skew            every request: 403 RequestTimeTooSkewed
  --error-200 S     a CompleteMultipartUpload (POST ...?uploadId=) whose
                    target contains S: 200 OK with an <Error> body
                    (InternalError), as S3 may answer; not forwarded
  --corrupt-list M  ListObjectsV2 answers: "truncate" cuts the body in
                    half, "garbage" replaces it with non-XML bytes
  --ssec-plain      a GET or HEAD of an object with SSE-C headers: 400
                    InvalidRequest, as AWS answers for an object stored
                    without SSE-C (s3rver keeps no SSE-C objects at all)
A request whose x-amz-security-token is "expired" is answered
400 ExpiredToken, as S3 answers a session token past its expiry.

--kms: answer like a bucket whose default encryption is SSE-KMS, where
an ETag is no MD5 of the content.  Each ETag s3rver sends becomes
hex(md5("kms:" + its hex, lower case)), a "-N" suffix kept: in the ETag
header of PutObject, UploadPart, HeadObject and GetObject answers, and in
the <ETag>s of listings (ListObjects, V1 or V2), ListParts and the
CompleteMultipartUpload result (quoted, &quot;-escaped or bare, as sent).
An object completed from N parts (s3rver: whole-object MD5, no suffix)
shows "FAKE-N" wherever it appears, as long as its real ETag stays the
one the Complete answered (remembered per bucket and key, in memory).  The
fake part ETags that a CompleteMultipartUpload body sends back are turned
back into the real ones (those the proxy handed out; others are left as
they are) after the checks, so --verify-sigv4 and --check-md5 see the
client's bytes; Content-Length, Content-MD5 and a hex x-amz-content-sha256
are recomputed, the signature is left stale (s3rver ignores it).  Every
2xx answer to an object-level PUT, POST, HEAD or GET (path-style
/BUCKET/KEY) carries x-amz-server-side-encryption: aws:kms and
x-amz-server-side-encryption-aws-kms-key-id: arn:aws:kms:...:key/....
Content-Length is fixed where a body changes.

Limitation: bodies are buffered in memory (fine for test-sized objects).
"""
import argparse
import base64
import calendar
import hashlib
import hmac
import html
import http
import http.client
import http.server
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

# ---- SigV4 verification (--verify-sigv4), independent of the C signer -----
SIGV4_KEYS = {}                        # access key id -> secret
ERRORS = {  # code: (status, message)
    "AccessDenied": (403, "Access Denied"),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does "
                           "not exist in our records."),
    "RequestTimeTooSkewed": (403, "The difference between the request time "
                             "and the current time is too large."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does"
                              " not match the signature you provided. Check "
                              "your key and signing method."),
    "InvalidRequest": (400, "Missing required header for this request: "
                       "x-amz-content-sha256"),
    "InvalidArgument": (400, "Invalid x-amz-content-sha256 value."),
    "AuthorizationHeaderMalformed": (400, "Invalid credential date. Date "
                                     "is not the same as X-Amz-Date."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' "
                                  "header does not match what was computed."),
}


def s3_error(status, code, message):
    """An error answer as S3 words it: (status, reason, headers, body)."""
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            "<Message>%s</Message><RequestId>proxy</RequestId></Error>"
            % (code, escape(message))).encode()
    return (status, http.HTTPStatus(status).phrase,
            [("Content-Type", "application/xml"),
             ("Content-Length", str(len(data)))], data)


def check_content_md5(headers, body):
    """As S3 does: a body that does not match its Content-MD5 is refused."""
    for k, v in headers:
        if k.lower() == "content-md5":
            want = v.strip()
            got = base64.b64encode(hashlib.md5(body).digest()).decode()
            if want != got:
                return (400, "BadDigest", "The Content-MD5 you specified "
                        "did not match what we received.")
    return None


def verify_sigv4(method, target, headers, body, payload_hash=True):
    """Check SigV4 header auth as S3 does (rules: module docstring).

    headers: (name, value) pairs as received; body: the payload (chunked
    framing removed).  Returns None if authentic, else (status, code, msg).
    """
    def fail(code):
        return (ERRORS[code][0], code, ERRORS[code][1])
    hdrs = {}
    for k, v in headers:
        hdrs.setdefault(k.lower(), []).append(v)
    rawpath, _, rawquery = target.partition("?")    # no urlsplit: "//x"
    query = [q for q in rawquery.split("&") if q]
    if any(q.split("=", 1)[0].lower() in ("x-amz-signature", "signature")
           for q in query):
        return fail("AccessDenied")    # presigned URLs: unsupported here
    auth = hdrs.get("authorization", [])
    m = re.fullmatch(r"AWS4-HMAC-SHA256 +(.*)", auth[0].strip()) \
        if len(auth) == 1 else None
    fields = dict(f.strip().partition("=")[::2]
                  for f in m.group(1).split(",")) if m else {}
    cred = fields.get("Credential", "").split("/")
    signed, sig = fields.get("SignedHeaders", ""), fields.get("Signature", "")
    names = signed.split(";")
    if (len(cred) != 5 or cred[4] != "aws4_request" or "host" not in names
            or not re.fullmatch(r"[0-9a-f]{64}", sig)):
        return fail("AccessDenied")
    if cred[0] not in SIGV4_KEYS:
        return fail("InvalidAccessKeyId")
    csha = hdrs.get("x-amz-content-sha256", [None])[0]
    if csha is None:
        return fail("InvalidRequest")
    hexsha = re.fullmatch(r"[0-9a-f]{64}", csha)
    if not (hexsha or csha == "UNSIGNED-PAYLOAD"
            or csha.startswith("STREAMING-")):
        return fail("InvalidArgument")
    amzdate = hdrs.get("x-amz-date", [""])[0]
    try:
        when = calendar.timegm(time.strptime(amzdate, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return fail("AccessDenied")
    if cred[1] != amzdate[:8]:
        return fail("AuthorizationHeaderMalformed")
    if abs(time.time() - when) > 15 * 60:
        return fail("RequestTimeTooSkewed")
    # Decode, then re-encode every byte but A-Za-z0-9-._~ (and '/' in the
    # path) as upper-case %XX; RFC 3986 decoding: a '+' stays a '+'.
    dec, enc = urllib.parse.unquote_to_bytes, urllib.parse.quote_from_bytes
    path = enc(dec(rawpath.encode("latin-1") or b"/"), safe="/")
    pairs = sorted(tuple(enc(dec(x), safe="") for x in
                         q.encode("latin-1").partition(b"=")[::2])
                   for q in query)
    canon_headers = "".join(   # values trimmed, runs of spaces collapsed
        "%s:%s\n" % (n, ",".join(re.sub(" +", " ", v.strip())
                                 for v in hdrs.get(n.lower(), [""])))
        for n in names)
    creq = "\n".join([method, path, "&".join("%s=%s" % p for p in pairs),
                      canon_headers, signed, csha]).encode("latin-1")
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (
        amzdate, "/".join(cred[1:]), hashlib.sha256(creq).hexdigest())
    key = ("AWS4" + SIGV4_KEYS[cred[0]]).encode()
    for part in cred[1:]:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    want = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):   # test debugging aid: stderr
        print("s3proxy: SignatureDoesNotMatch for %s %s\n--- canonical "
              "request ---\n%s\n--- string to sign ---\n%s\n---" % (
                  method, target, creq.decode("latin-1"), sts),
              file=sys.stderr, flush=True)
        return fail("SignatureDoesNotMatch")
    if payload_hash:
        return check_payload_sha256(headers, body)
    return None


def check_payload_sha256(headers, body):
    """A hex x-amz-content-sha256 must be the SHA-256 of the payload."""
    for k, v in headers:
        if (k.lower() == "x-amz-content-sha256"
                and re.fullmatch(r"[0-9a-f]{64}", v.strip())
                and hashlib.sha256(body).hexdigest() != v.strip()):
            code = "XAmzContentSHA256Mismatch"
            return (ERRORS[code][0], code, ERRORS[code][1])
    return None


FAULTS = ("503", "500", "drop", "stall", "flip")     # --fault-rate


# ---- hostile answers (--skew, --error-200, --corrupt-list) ----------------
def hostile_answer(cfg, method, target, headers):
    """The (status, code, message) to answer instead of forwarding, or None."""
    if cfg.skew:
        return (403, "RequestTimeTooSkewed",
                ERRORS["RequestTimeTooSkewed"][1])
    if any(k.lower() == "x-amz-security-token" and v.strip() == "expired"
           for k, v in headers):
        return (400, "ExpiredToken", "The provided token has expired.")
    if (cfg.ssec_plain and method in ("GET", "HEAD")
            and urllib.parse.urlsplit(target).path.count("/") >= 2
            and urllib.parse.urlsplit(target).path.split("/", 2)[2]
            and any(k.lower() == "x-amz-server-side-encryption-customer-"
                    "algorithm" for k, v in headers)):
        return (400, "InvalidRequest", "The encryption parameters are not "
                "applicable to this object.")
    if (cfg.versioning_answer and method in ("GET", "PUT") and
            "versioning" in urllib.parse.parse_qs(
                urllib.parse.urlsplit(target).query,
                keep_blank_values=True)):
        status = cfg.versioning_answer
        if status == 501:
            return (501, "NotImplemented", "A header you provided implies "
                    "functionality that is not implemented")
        return (403, "AccessDenied", "Access Denied")
    if (cfg.claim_answers and method == "PUT" and
            urllib.parse.urlsplit(target).path.endswith("/.p3backup/claim")):
        status = cfg.claim_answers.pop(0)
        if status == 412:
            return (412, "PreconditionFailed", "At least one of the "
                    "pre-conditions you specified did not hold")
        return (409, "ConditionalRequestConflict", "A conflicting "
                "operation occurred. If using PutObject you can retry "
                "the request.")
    if (cfg.error_200 and method == "POST" and "uploadId=" in target
            and cfg.error_200 in target):
        return (200, "InternalError", "We encountered an internal error. "
                "Please try again.")
    return None


def corrupt_list(cfg, method, target, headers, body):
    """--corrupt-list: a ListObjectsV2 answer truncated or not XML at all."""
    if not cfg.corrupt_list or method != "GET" or ("list-type", "2") not in \
            urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query):
        return headers, body
    body = body[:len(body) // 2] if cfg.corrupt_list == "truncate" \
        else b"502 this is { not XML at all }\n"
    return [(k, str(len(body)) if k.lower() == "content-length" else v)
            for k, v in headers], body


# ---- a bucket with SSE-KMS default encryption (--kms) ----------------------
KMS_KEY_ARN = ("arn:aws:kms:us-east-1:111122223333:key/"
               "1234abcd-12ab-34cd-56ef-1234567890ab")
KMS_LOCK = threading.Lock()
KMS_PARTS = {}       # fake part ETag (hex) -> real one, to translate back
KMS_MULTI = {}       # (bucket, key) -> (real whole-object MD5 hex, parts)
# An ETag as sent in a header or XML text: quoted, XML-escaped or bare.
ETAG_RE = re.compile(rb'(\s*(?:&quot;|&#34;|")?)([0-9A-Fa-f]+)(-\d+)?'
                     rb'((?:&quot;|&#34;|")?\s*)')


def kms_fake(real_hex, suffix=""):
    """The ETag an SSE-KMS bucket shows instead of the MD5-based real_hex."""
    return hashlib.md5(b"kms:" + real_hex.lower().encode()).hexdigest() \
        + suffix


def kms_split(target):
    """(bucket, key or None, query names) of a path-style request target."""
    rawpath, _, rawquery = target.partition("?")
    parts = rawpath.lstrip("/").split("/", 1)

    def dec(s):
        return urllib.parse.unquote_to_bytes(s.encode("latin-1")).decode(
            "utf-8", "surrogateescape")
    key = dec(parts[1]) if len(parts) == 2 and parts[1] else None
    names = {n for n, _ in urllib.parse.parse_qsl(rawquery,
                                                  keep_blank_values=True)}
    return dec(parts[0]), key, names


def kms_etag(text, obj=None, part=False):
    """Rewrite one ETag (bytes, its quoting kept) to its fake.

    obj: (bucket, key) of a whole object, whose fake gets "-N" if it was
    completed from N parts; part: remember the fake to translate it back."""
    m = ETAG_RE.fullmatch(text)
    if m is None:
        return text
    real, suffix = m.group(2).decode().lower(), (m.group(3) or b"").decode()
    with KMS_LOCK:
        multi = KMS_MULTI.get(obj)
        if not suffix and multi is not None and multi[0] == real:
            suffix = "-%d" % multi[1]
        fake = kms_fake(real, suffix)
        if part:
            KMS_PARTS[fake] = real
    return m.group(1) + fake.encode() + m.group(4)


def kms_unfake(text):
    """Translate a fake part ETag (bytes) back to the real one, if known."""
    m = ETAG_RE.fullmatch(text)
    with KMS_LOCK:
        real = m and not m.group(3) and KMS_PARTS.get(m.group(2).decode()
                                                      .lower())
    return m.group(1) + real.encode() + m.group(4) if real else text


def kms_xml_etags(data, element, obj):
    """Rewrite the <ETag> of each <element> block; obj(block) is the
    (bucket, key) the block stands for, or None for a part."""
    def block(m):
        o = obj(m.group(0))
        return re.sub(rb"(<ETag>)(.*?)(</ETag>)", lambda e: e.group(1)
                      + kms_etag(e.group(2), o, o is None) + e.group(3),
                      m.group(0), flags=re.S)
    return re.sub(rb"<%s>.*?</%s>" % (element, element), block, data,
                  flags=re.S)


def listed_key(block):
    """The key of a listing's <Contents> block, XML-unescaped."""
    m = re.search(rb"<Key>(.*?)</Key>", block, re.S)
    return m and html.unescape(m.group(1).decode("utf-8", "surrogateescape"))


def kms_request(method, target, headers, body):
    """CompleteMultipartUpload: the fake part ETags back to the real ones.

    Runs after the checks; Content-Length, Content-MD5 and a hex
    x-amz-content-sha256 are recomputed (the signature is left stale)."""
    bucket, key, query = kms_split(target)
    if method != "POST" or key is None or "uploadId" not in query or any(
            k.lower() == "transfer-encoding" for k, _ in headers):
        return headers, body
    new = re.sub(rb"(<ETag>)(.*?)(</ETag>)", lambda e: e.group(1)
                 + kms_unfake(e.group(2)) + e.group(3), body, flags=re.S)
    if new == body:
        return headers, body
    fixed = {"content-length": str(len(new)),
             "content-md5": base64.b64encode(
                 hashlib.md5(new).digest()).decode()}
    out = []
    for k, v in headers:
        lk = k.lower()
        if lk == "x-amz-content-sha256" and re.fullmatch(r"[0-9a-f]{64}",
                                                         v.strip()):
            v = hashlib.sha256(new).hexdigest()
        out.append((k, fixed.get(lk, v)))
    return out, new


def kms_response(method, target, req_body, st, headers, data):
    """Make a 2xx answer look like it came from an SSE-KMS bucket."""
    bucket, key, query = kms_split(target)
    obj, upload, orig = (bucket, key), "uploadId" in query, data
    if not 200 <= st < 300:
        return headers, data
    if key is None:                          # bucket level: listings
        if method == "GET":
            data = kms_xml_etags(data, b"Contents",
                                 lambda b: (bucket, listed_key(b)))
        return kms_fix_length(headers, data, orig), data
    if method == "DELETE" or (method == "PUT" and not upload):
        with KMS_LOCK:                       # gone, or a new single part
            KMS_MULTI.pop(obj, None)
    if method not in ("PUT", "POST", "HEAD", "GET"):
        return headers, data
    if method == "POST" and upload:          # CompleteMultipartUpload
        m = re.search(rb"<CompleteMultipartUploadResult\b.*?<ETag>(.*?)"
                      rb"</ETag>", data, re.S)
        real = m and ETAG_RE.fullmatch(m.group(1))
        if real and not real.group(3):       # s3rver: whole-object MD5
            n = len(re.findall(rb"<Part[\s>]", req_body))
            with KMS_LOCK:
                KMS_MULTI[obj] = (real.group(2).decode().lower(), n)
        data = kms_xml_etags(data, b"CompleteMultipartUploadResult",
                             lambda b: obj)
    elif method == "GET" and upload:         # ListParts
        data = kms_xml_etags(data, b"Part", lambda b: None)
    part = method == "PUT" and upload        # UploadPart
    out = [(k, kms_etag(v.encode("latin-1"), None if part else obj, part)
            .decode("latin-1") if k.lower() == "etag" else v)
           for k, v in headers
           if not k.lower().startswith("x-amz-server-side-encryption")]
    out += [("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", KMS_KEY_ARN)]
    return kms_fix_length(out, data, orig), data


def kms_fix_length(headers, data, orig):
    """Content-Length fixed if the body changed."""
    if data == orig:
        return headers
    return [(k, str(len(data)) if k.lower() == "content-length" else v)
            for k, v in headers]


class UpstreamConnection(http.client.HTTPConnection):
    # Send the request line as latin-1 so raw non-ASCII bytes survive.
    def _encode_request(self, request):
        return request.encode("latin-1")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600                      # idle/dead client connections
    cfg = None                         # argparse namespace, set in main()
    requests_seen = 0                  # for --fail-every / --drop-every
    rng = None                         # --fault-rate: random.Random(seed)
    log_lock = threading.Lock()
    upstream = None                    # per client connection
    upstream_used = False

    # ---- request side -------------------------------------------------
    def read_body(self):
        """Return (raw body, framing included when chunked; payload)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raw, payload = bytearray(), bytearray()
            while True:
                line = self.read_line()
                raw += line
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    break
                chunk = self.read_exact(size + 2)
                raw += chunk
                payload += chunk[:-2]
            while line not in (b"\r\n", b"\n"):          # trailers
                line = self.read_line()
                raw += line
            return bytes(raw), bytes(payload)
        body = self.read_exact(int(self.headers.get("Content-Length") or 0))
        return body, body

    def read_line(self):
        line = self.rfile.readline(65537)
        if not line.endswith(b"\n"):
            raise ConnectionError("client closed mid-body")
        return line

    def read_exact(self, n):
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("client closed mid-body")
        return data

    # ---- forwarding: the one place a request becomes a response --------
    def forward(self, method, target, headers, body):
        """Send one request upstream; return (status, reason, headers, body)."""
        for attempt in (0, 1):
            if self.upstream is None:
                self.upstream = UpstreamConnection(*self.cfg.up, timeout=600)
                self.upstream_used = False
            reused = self.upstream_used
            try:
                c = self.upstream
                c.putrequest(method, target, skip_host=True,
                             skip_accept_encoding=True)
                for k, v in headers:
                    c.putheader(k, v)
                c.endheaders(body if body else None)
                resp = c.getresponse()
                data = resp.read()
                self.upstream_used = True
                if resp.will_close:
                    self.close_upstream()
                return resp.status, resp.reason, resp.getheaders(), data
            except (OSError, http.client.HTTPException) as e:
                self.close_upstream()
                # A reused keep-alive connection may have been closed by
                # upstream just as we sent: retry once on a fresh one.
                if not (reused and isinstance(e, ConnectionError)) or attempt:
                    raise

    def close_upstream(self):
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    def rewrite(self, method, target, headers, body):
        """--rewrite-list: replace <Key> texts in ListObjectsV2 answers."""
        if not self.cfg.rewrite_list or method != "GET":
            return headers, body
        query = urllib.parse.urlsplit(target).query
        if ("list-type", "2") not in urllib.parse.parse_qsl(
                query, keep_blank_values=True):
            return headers, body
        with open(self.cfg.rewrite_list, encoding="utf-8") as f:
            mapping = {k.encode(): v.encode() for k, v in json.load(f).items()}
        body = re.sub(rb"<Key>(.*?)</Key>",
                      lambda m: b"<Key>" + mapping.get(m.group(1), m.group(1))
                      + b"</Key>", body, flags=re.S)
        headers = [(k, str(len(body)) if k.lower() == "content-length" else v)
                   for k, v in headers]
        return headers, body

    # ---- response side ------------------------------------------------
    def do_any(self):
        method, target = self.command, self.path
        status = "000"
        try:
            try:
                body, payload = self.read_body()
            except (OSError, ValueError):
                self.close_connection = True
                return
            # Flip only unframed bodies (chunked framing would need redoing).
            fault, pos = self.next_fault(len(payload) if body is payload
                                         else 0)
            if fault in ("drop", "stall"):          # no answer at all
                self.close_connection = True
                status = fault
                if fault == "stall":    # logged now, in request order
                    self.log_line(method, target, status)
                    status = None
                    time.sleep(self.cfg.stall_seconds)
                return
            if fault == "flip" and pos is not None:  # before every check
                payload = bytearray(payload)
                payload[pos] ^= 0x01
                payload = body = bytes(payload)
            try:
                hdrs = list(self.headers.items())
                bad = SIGV4_KEYS and verify_sigv4(     # --verify-sigv4
                    method, target, hdrs, payload, payload_hash=False)
                if not bad and self.cfg.check_md5:  # --check-md5
                    bad = check_content_md5(hdrs, payload)
                if not bad and SIGV4_KEYS:
                    bad = check_payload_sha256(hdrs, payload)
                if fault == "503":          # --fail-every, --fault-rate
                    bad = (503, "SlowDown", "Please reduce your request rate.")
                elif fault == "500":
                    bad = (500, "InternalError", "We encountered an internal "
                           "error. Please try again.")
                bad = bad or hostile_answer(self.cfg, method, target,
                                            list(self.headers.items()))
                if bad:
                    st, reason, headers, data = s3_error(*bad)
                else:
                    fwd = list(self.headers.items())
                    if self.cfg.kms:        # after the checks: see --kms
                        fwd, body = kms_request(method, target, fwd, body)
                    st, reason, headers, data = self.forward(
                        method, target, fwd, body)
                    if self.cfg.kms:
                        headers, data = kms_response(method, target, body,
                                                     st, headers, data)
                    headers, data = self.rewrite(method, target, headers,
                                                 data)
                    headers, data = corrupt_list(self.cfg, method, target,
                                                 headers, data)
            except Exception as e:   # upstream down / broken (verifier bug)
                st, reason = 502, "Bad Gateway"
                data = ("<Error><Code>ProxyUpstreamError</Code><Message>%s"
                        "</Message></Error>" % escape(repr(e))).encode()
                headers = [("Content-Type", "application/xml"),
                           ("Content-Length", str(len(data))),
                           ("Connection", "close")]
            status = "flip" if fault == "flip" and pos is not None \
                else str(st)
            self.send_upstream_response(method, st, reason, headers, data)
        except OSError:                     # client went away while we wrote
            self.close_connection = True
        finally:
            if status is not None:
                self.log_line(method, target, status)

    def send_upstream_response(self, method, st, reason, headers, data):
        want_close = self.close_connection
        self.send_response_only(st, reason)   # no added Server/Date
        chunked = framed = False
        for k, v in headers:
            self.send_header(k, v)            # also tracks Connection: close
            lk = k.lower()
            if lk == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
            if lk in ("transfer-encoding", "content-length"):
                framed = True
        self.end_headers()
        self.close_connection = self.close_connection or want_close
        if method == "HEAD" or st in (204, 304) or st < 200:
            return
        if chunked:
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)
            if not framed:                    # body delimited by close
                self.close_connection = True
        self.wfile.flush()

    def next_fault(self, body_len):
        """The fault for this request and, for "flip", the byte offset.

        --drop-every/--fail-every: the Nth, 2Nth... request; else, with
        --fault-rate, a seeded draw (module docstring)."""
        with self.log_lock:
            Handler.requests_seen += 1
            n = Handler.requests_seen
            fault = pos = None
            if self.cfg.drop_every and n % self.cfg.drop_every == 0:
                fault = "drop"
            elif self.cfg.fail_every and n % self.cfg.fail_every == 0:
                fault = "503"
            elif self.rng is not None and \
                    self.rng.random() < self.cfg.fault_rate:
                fault = self.rng.choice(FAULTS)
                x = self.rng.random()       # always drawn: repeatable
                if fault == "flip" and body_len > 0:
                    pos = int(x * body_len)
        return fault, pos

    def log_line(self, method, target, status):
        line = "%s\t%s\t%s" % (method, target, status)
        for name in self.cfg.log_headers:       # --log-header
            value = self.headers.get(name)
            if value is not None:
                line += "\t%s=%s" % (name.lower(), value)
        line += "\n"
        with self.log_lock:
            os.write(self.cfg.log_fd, line.encode("latin-1", "replace"))

    def finish(self):
        self.close_upstream()
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):      # keep stderr quiet
        pass


for _m in ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"):
    setattr(Handler, "do_" + _m, Handler.do_any)


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass                                # a bad client never kills us


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--upstream", required=True, help="HOST:PORT")
    p.add_argument("--log", required=True)
    p.add_argument("--port-file")
    p.add_argument("--rewrite-list")
    p.add_argument("--check-md5", action="store_true",
                   help="refuse a body that does not match its Content-MD5")
    p.add_argument("--fail-every", type=int, default=0, metavar="N",
                   help="answer every Nth request 503 SlowDown")
    p.add_argument("--drop-every", type=int, default=0, metavar="N",
                   help="close the connection instead of answering "
                   "every Nth request")
    p.add_argument("--fault-rate", type=float, default=0.0, metavar="R",
                   help="inject a random fault in this share of requests")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of --fault-rate's draws")
    p.add_argument("--stall-seconds", type=float, default=8.0, metavar="T",
                   help="how long a stall fault holds the answer back")
    p.add_argument("--verify-sigv4", action="append", default=[],
                   metavar="ACCESS_KEY:SECRET")
    p.add_argument("--ssec-plain", action="store_true",
                   help="refuse SSE-C headers on GET/HEAD of objects, as "
                   "AWS does for objects stored without SSE-C")
    p.add_argument("--skew", action="store_true",
                   help="answer every request 403 RequestTimeTooSkewed")
    p.add_argument("--error-200", metavar="S",
                   help="answer CompleteMultipartUpload 200 with an <Error>")
    p.add_argument("--corrupt-list", choices=("truncate", "garbage"),
                   help="corrupt ListObjectsV2 answers")
    p.add_argument("--log-header", dest="log_headers", action="append",
                   default=[], metavar="NAME",
                   help="append NAME=VALUE to a request's log line when "
                   "it has that header (repeatable)")
    p.add_argument("--claim-answers", metavar="CODES", default="",
                   help="answer the next PUTs of .p3backup/claim with these "
                   "statuses (412 or 409, comma-separated), as AWS does "
                   "when another writer won or raced")
    p.add_argument("--versioning-answer", type=int, choices=(403, 501),
                   default=0, metavar="CODE",
                   help="answer every GET and PUT ?versioning with 501 "
                   "NotImplemented (a store without versioning) or 403 "
                   "AccessDenied (a key not allowed to ask)")
    p.add_argument("--kms", action="store_true",
                   help="answer like a bucket with SSE-KMS default "
                   "encryption: ETags are no MD5")
    cfg = p.parse_args()
    cfg.claim_answers = [int(x) for x in cfg.claim_answers.split(",") if x]
    for pair in cfg.verify_sigv4:
        ak, sep, secret = pair.partition(":")
        if not sep or not ak:
            p.error("--verify-sigv4 wants ACCESS_KEY:SECRET")
        SIGV4_KEYS[ak] = secret
    host, port = cfg.upstream.rsplit(":", 1)
    cfg.up = (host, int(port))
    cfg.log_fd = os.open(cfg.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o644)
    if not 0.0 <= cfg.fault_rate <= 1.0:
        p.error("--fault-rate wants a number in [0, 1]")
    if cfg.fault_rate > 0:
        Handler.rng = random.Random(cfg.seed)
    Handler.cfg = cfg
    server = Server(("127.0.0.1", cfg.listen_port), Handler)

    def stop(signum, frame):
        # Every log line is written whole at once (os.write): nothing
        # to flush, and no handler thread to wait for.
        os._exit(0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)

    if cfg.port_file:
        tmp = "%s.tmp.%d" % (cfg.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, cfg.port_file)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
