"""The Mozilla HTTP Observatory's header tests and grading, as a pure function of one response.

The real Observatory scans public hosts over the internet; our edge only listens on loopback, so
tests capture a response from Caddy and score it here instead. This is a port of the scanner in
`mdn/mdn-http-observatory`, read file by file through the code index:

- `src/scanner/index.js`: start at 100, add every modifier; bonuses count only when the score
  with penalties alone is >= `MINIMUM_SCORE_FOR_EXTRA_CREDIT` (90, `src/grader/charts.js`).
- `src/grader/grader.js` (`getGradeForScore`: floor at 0, round down to a multiple of 5, cap
  at 100) and `src/grader/charts.js` (`GRADE_CHART`, `SCORE_TABLE`), as of release 1.4.0
  (a57b50e), plus pull request #332 (algorithm version 5), which raised
  `x-frame-options-sameorigin-or-deny` from 0 to +5.
- `src/analyzer/tests/{csp,cookies,cors,redirection,referrer-policy,strict-transport-security,
  subresource-integrity,x-content-type-options,x-frame-options,cross-origin-resource-policy}.js`,
  `src/analyzer/cspParser.js`, `src/analyzer/utils.js`, `src/types.js` (result names),
  `src/constants.js` (test order).
- `src/retriever/retriever.js` and `session.js`: headers reach the analyzers through axios on
  Node, which joins a repeated header field into one `", "`-separated string (Set-Cookie stays
  a list). So two CSP header fields are parsed as one policy, and two `nosniff` fields make
  an invalid X-Content-Type-Options header. `_header` does the same.
- `test/cookies.test.js`, `test/csp.test.js`: where the expected results come from.

Not modelled, because a captured response cannot show them: the HSTS preload list
(`hsts-preloaded`, `redirection-all-redirects-preloaded`); certificate validity (we assume a
trusted chain, so never `*-invalid-cert`); `<meta http-equiv>` policies in the page; the cookies
the real scanner also gets from `/robots.txt` and redirects (pass them in `set_cookies`);
`redirection-off-host-from-http` and `-not-to-https*`. Also missing are the COOP and COEP tests
(algorithm 6, pull request #498). Their analyzers exist, but the score table for them was not
readable. The only known modifier is -5 for an invalid header.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
GRADE_CHART = {
    100: "A+", 95: "A", 90: "A", 85: "A-", 80: "B+", 75: "B", 70: "B", 65: "B-", 60: "C+",
    55: "C", 50: "C", 45: "C-", 40: "D+", 35: "D", 30: "D", 25: "D-",
    20: "F", 15: "F", 10: "F", 5: "F", 0: "F",
}  # fmt: skip
SCORE_TABLE = {
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25,
    "csp-not-implemented": -25,
    "csp-not-implemented-but-reporting-enabled": -25,
    "csp-implemented-but-duplicate-directives": 0,
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-missing": -20,
    "referrer-policy-private": 5,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-header-invalid": -20,
    "hsts-not-implemented-no-https": -20,
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 5,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    "corp-implemented-with-same-origin": 10,
    "corp-implemented-with-same-site": 10,
    "corp-implemented-with-cross-origin": 0,
    "corp-not-implemented": 0,
    "corp-header-invalid": -5,
}

Headers = Mapping[str, str] | httpx.Headers


@dataclass(frozen=True)
class TestResult:
    """One Observatory test: its name, its result and what that result is worth."""

    __test__: ClassVar[bool] = False  # a data class, not a pytest test class

    name: str
    result: str
    score_modifier: int
    pass_: bool


@dataclass(frozen=True)
class Grade:
    score: int
    grade: str
    results: list[TestResult]

    @property
    def penalties(self) -> list[TestResult]:
        return [r for r in self.results if r.score_modifier < 0]

    @property
    def by_name(self) -> dict[str, TestResult]:
        return {r.name: r for r in self.results}


def score(
    *,
    headers: Headers,
    html: str | None,
    https: bool,
    redirects_http_to_https: bool | None,
    set_cookies: Sequence[str] = (),
    hostname: str | None = None,
    cors_origin: str | None = None,
) -> Grade:
    """Grade one response the way the Observatory's scanner does.

    `https`: the page was served over HTTPS. `redirects_http_to_https`: what plain HTTP on the
    same host did. True means it redirected to HTTPS and False means it answered without
    redirecting. None means nothing answered on HTTP, which is the Observatory's
    `redirection-not-needed-no-http` (worth 0, like `redirection-to-https`). Pass True or False
    to actually check the redirect. `html` is the body. As in the Observatory, it is only read
    when Content-Type is HTML. `hostname` is the site's host, needed to tell same-site absolute
    script URLs from foreign ones (unknown: all foreign). `cors_origin` is the Origin sent with
    the request (the Observatory sends its own site's origin in a CORS preflight).
    """
    if not https and redirects_http_to_https:
        raise ValueError("a page served over plain HTTP cannot come from an HTTP→HTTPS redirect")
    csp_result, csp_pass, csp = _csp_test(headers, https=https)
    hsts_result = _hsts_test(headers, https=https)
    hsts_pass = hsts_result == "hsts-implemented-max-age-at-least-six-months"
    cookies = [*_header_values(headers, "set-cookie"), *set_cookies]
    outcomes = [
        ("content-security-policy", csp_result, csp_pass),
        ("cookies", *_cookies_test(cookies, hsts_pass=hsts_pass)),
        ("cross-origin-resource-sharing", *_cors_test(headers, cors_origin)),
        ("redirection", *_redirection_test(https, redirects_http_to_https)),
        ("referrer-policy", *_referrer_policy_test(headers)),
        ("strict-transport-security", hsts_result, hsts_pass),
        ("subresource-integrity", *_sri_test(headers, html, https=https, hostname=hostname)),
        ("x-content-type-options", *_x_content_type_options_test(headers)),
        ("x-frame-options", *_x_frame_options_test(headers, csp)),
        ("cross-origin-resource-policy", *_corp_test(headers)),
    ]
    results = [TestResult(n, r, SCORE_TABLE[r], p) for n, r, p in outcomes]
    with_extra_credit = 100 + sum(r.score_modifier for r in results)
    uncurved = 100 + sum(r.score_modifier for r in results if r.score_modifier < 0)
    total = max(with_extra_credit if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved, 0)
    return Grade(total, GRADE_CHART[min(total - total % 5, 100)], results)


def _header_values(headers: Headers, name: str) -> list[str]:
    if isinstance(headers, httpx.Headers):
        return headers.get_list(name)
    return [value for key, value in headers.items() if key.lower() == name.lower()]


def _header(headers: Headers, name: str) -> str | None:
    values = _header_values(headers, name)
    return ", ".join(values) if values else None


# --- Content-Security-Policy (csp.js, cspParser.js) ---------------------------------------------

_BROAD = frozenset(
    {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
)
_BROAD_OR_INLINE = _BROAD | {"'unsafe-inline'", "data:"}
_NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")
_ALLOWED_DUPLICATES = frozenset({"report-uri", "report-to"})


def _parse_csp(policy: str) -> tuple[dict[str, set[str]], bool]:
    """One policy string to directive → sources; raises ValueError where parseCsp throws."""
    policy = re.sub(r"[\r\n]", "", policy).strip()
    if len(policy) < len("img-src") - 1:
        raise ValueError(f"invalid policy: {policy!r}")
    csp: dict[str, set[str]] = {}
    duplicates = False
    for entry in policy.split(";"):
        directive, *values = entry.split() or [""]
        if not directive:
            continue
        directive = directive.lower()
        if directive in csp:
            if directive not in _ALLOWED_DUPLICATES:
                raise ValueError(f"duplicate directive {directive}")
            duplicates = True
        # cspParser also drops a source that extends the one sorted before it (https://a.test/x
        # after https://a.test); that never changes a result for a real policy, so it is skipped.
        csp[directive] = {v.lower() for v in values} or {"'none'"}  # no sources: nothing allowed
    return csp, duplicates


def _csp_test(headers: Headers, *, https: bool) -> tuple[str, bool, dict[str, set[str]] | None]:
    header = _header(headers, "content-security-policy")
    try:
        csp, duplicates = _parse_csp(header) if header is not None else ({}, False)
    except ValueError:
        return "csp-header-invalid", False, None
    if not csp:
        if _header(headers, "content-security-policy-report-only"):
            return "csp-not-implemented-but-reporting-enabled", False, None
        return "csp-not-implemented", False, None

    def source_list(*directives: str) -> set[str]:
        # The same set objects as in `csp`: the edits below show through the fallbacks too.
        return next((csp[d] for d in directives if d in csp), {"*"})

    object_src = source_list("object-src", "default-src")
    script_src = source_list("script-src", "default-src")
    style_src = source_list("style-src", "default-src")
    for sources in (script_src, style_src):
        if any(s.startswith(_NONCES_HASHES) for s in sources):
            sources.discard("'unsafe-inline'")

    result: str | None = None
    if "'strict-dynamic'" in script_src:
        if any(s.startswith(_NONCES_HASHES) for s in script_src):
            for source in list(script_src):
                if source.startswith(tuple(_BROAD)) or source in {"'self'", "'unsafe-inline'"}:
                    script_src.discard(source)
        else:
            result = "csp-header-invalid"
    active = [
        s for d, v in csp.items() if d not in {"img-src", "media-src", "script-src"} for s in v
    ]
    active += script_src
    passive = [s for d in ("img-src", "media-src") for s in csp.get(d, csp.get("default-src", ()))]

    def insecure(sources: list[str]) -> bool:
        return https and any(s.startswith(("http:", "ftp:")) for s in sources)

    checks = [
        (bool(script_src & _BROAD_OR_INLINE or object_src & _BROAD), "unsafe-inline"),
        (insecure(active), "insecure-scheme"),
        ("'unsafe-eval'" in script_src | style_src, "unsafe-eval"),
        (insecure(passive), "insecure-scheme-in-passive-content-only"),
        (bool(style_src & _BROAD_OR_INLINE), "unsafe-inline-in-style-src-only"),
        (csp.get("default-src") == {"'none'"}, "no-unsafe-default-src-none"),
        (True, "no-unsafe"),
    ]
    result = result or "csp-implemented-with-" + next(name for hit, name in checks if hit)
    passed = result in {
        "csp-implemented-with-no-unsafe",
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
    }
    if passed and duplicates:
        result = "csp-implemented-but-duplicate-directives"
    return result, passed, csp


# --- Cookies (cookies.js; parsing as tough-cookie's Cookie.parse) -------------------------------

_COOKIE_ORDER = [
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
]


def _worse(new: str, old: str | None, order: list[str]) -> str:
    """utils.js onlyIfWorse: results missing from `order` rank as best."""

    def rank(result: str) -> int:
        return order.index(result) if result in order else -1

    return new if old is None or rank(new) > rank(old) else old


@dataclass(frozen=True)
class _Cookie:
    name: str
    secure: bool
    http_only: bool
    same_site: str | None


def _parse_cookie(raw: str) -> tuple[tuple[str, str, str], _Cookie] | None:
    pair, *attributes = raw.strip().split(";")
    name, eq, _ = pair.partition("=")
    if not eq or not name.strip():
        return None
    attrs: dict[str, str] = {}
    for attribute in attributes:
        key, _, value = attribute.strip().partition("=")
        attrs[key.strip().lower()] = value.strip()
    same_site = attrs.get("samesite", "").lower()
    cookie = _Cookie(
        name.strip(),
        "secure" in attrs,
        "httponly" in attrs,
        same_site if same_site in {"strict", "lax", "none"} else None,
    )
    # tough-cookie silently drops cookies whose __Secure-/__Host- prefix rules are broken.
    if cookie.name.startswith(("__Secure-", "__Host-")) and not cookie.secure:
        return None
    if cookie.name.startswith("__Host-") and ("domain" in attrs or attrs.get("path") != "/"):
        return None
    return (cookie.name, attrs.get("domain", "").lower().lstrip("."), attrs.get("path", "")), cookie


def _invalid_same_site(raw: str) -> bool:
    for part in raw.strip().split(";"):
        key, *rest = part.strip().split("=")
        if key.strip().lower() == "samesite":
            value = rest[0].strip().lower() if rest else ""
            if value not in {"lax", "strict", "none"}:
                return True
    return False


def _cookies_test(raw_cookies: Sequence[str], *, hsts_pass: bool) -> tuple[str, bool]:
    jar: dict[tuple[str, str, str], _Cookie] = {}
    for raw in raw_cookies:
        parsed = _parse_cookie(raw)
        if parsed is not None and parsed[1].name != "heroku-session-affinity":
            jar[parsed[0]] = parsed[1]
    if not jar:
        return "cookies-not-found", True
    result: str | None = None
    if any(_invalid_same_site(raw) for raw in raw_cookies):
        result = "cookies-samesite-flag-invalid"
    for cookie in jar.values():
        key = cookie.name.lower()
        session = "login" in key or "sess" in key
        if not cookie.secure and cookie.same_site == "none":
            result = _worse("cookies-samesite-flag-invalid", result, _COOKIE_ORDER)
        if not cookie.secure:
            flag = "-but-protected-by-hsts" if hsts_pass else ""
            result = _worse(f"cookies-without-secure-flag{flag}", result, _COOKIE_ORDER)
            if session:
                found = f"cookies-session-without-secure-flag{flag}"
                result = _worse(found, result, _COOKIE_ORDER)
        if "csrf" in key and cookie.same_site is None:
            result = _worse("cookies-anticsrf-without-samesite-flag", result, _COOKIE_ORDER)
        if session and not cookie.http_only:
            result = _worse("cookies-session-without-httponly-flag", result, _COOKIE_ORDER)
    if result is None:
        if any(cookie.same_site is None for cookie in jar.values()):
            result = "cookies-secure-with-httponly-sessions"
        else:
            result = "cookies-secure-with-httponly-sessions-and-samesite"
    return result, result in {
        "cookies-secure-with-httponly-sessions",
        "cookies-secure-with-httponly-sessions-and-samesite",
    }


# --- The one-header tests -----------------------------------------------------------------------


def _cors_test(headers: Headers, origin: str | None) -> tuple[str, bool]:
    acao = _header(headers, "access-control-allow-origin")
    credentials = _header(headers, "access-control-allow-credentials") or ""
    if not acao:
        return "cross-origin-resource-sharing-not-implemented", True
    if acao[:256].strip().lower() == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access", True
    if origin and origin == acao and credentials.lower().strip() == "true":
        return "cross-origin-resource-sharing-implemented-with-universal-access", False
    return "cross-origin-resource-sharing-implemented-with-restricted-access", True


def _redirection_test(https: bool, redirects_http_to_https: bool | None) -> tuple[str, bool]:
    if https and redirects_http_to_https is None:
        return "redirection-not-needed-no-http", True
    if redirects_http_to_https:
        return "redirection-to-https", True
    return "redirection-missing", False


_PRIVATE_REFERRERS = (
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
)
_UNSAFE_REFERRERS = (
    "origin",
    "origin-when-cross-origin",
    "unsafe-url",
    "no-referrer-when-downgrade",
)


def _referrer_policy_test(headers: Headers) -> tuple[str, bool]:
    header = _header(headers, "referrer-policy")
    if header is None:
        return "referrer-policy-not-implemented", True
    tokens = [t.strip().lower() for t in header.split(",")]
    known = [t for t in tokens if t in _PRIVATE_REFERRERS + _UNSAFE_REFERRERS]
    policy = known[-1] if known else ""  # the last policy a browser understands wins
    if policy in _PRIVATE_REFERRERS:
        return "referrer-policy-private", True
    if policy in _UNSAFE_REFERRERS:
        return "referrer-policy-unsafe", False
    return "referrer-policy-header-invalid", False


def _parse_int(text: str) -> float:
    """JavaScript's parseInt(text, 10): the leading integer, or NaN."""
    match = re.match(r"\s*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else math.nan


def _hsts_test(headers: Headers, *, https: bool) -> str:
    if not https:
        return "hsts-not-implemented-no-https"
    header = _header(headers, "strict-transport-security")
    if header is None:
        return "hsts-not-implemented"
    data = header[:1024]
    max_age: float | None = None
    for parameter in (p.strip().lower() for p in data.split(";")):
        if parameter.startswith("max-age="):
            max_age = _parse_int(parameter[8:128])
    if "," in data or max_age is None:  # a comma means the header was sent twice
        return "hsts-header-invalid"
    # 15768000 is six months; the Observatory accepts 15552000. NaN is "not less" in JS.
    if max_age < 15552000:
        return "hsts-implemented-max-age-less-than-six-months"
    return "hsts-implemented-max-age-at-least-six-months"


def _x_content_type_options_test(headers: Headers) -> tuple[str, bool]:
    header = _header(headers, "x-content-type-options")
    if not header:
        return "x-content-type-options-not-implemented", False
    if header[:256].strip().lower() == "nosniff":
        return "x-content-type-options-nosniff", True
    return "x-content-type-options-header-invalid", False


def _x_frame_options_test(headers: Headers, csp: dict[str, set[str]] | None) -> tuple[str, bool]:
    header = _header(headers, "x-frame-options")
    xfo = (header or "")[:1024].strip().lower()
    if csp is not None and "frame-ancestors" in csp:
        return "x-frame-options-implemented-via-csp", True
    if not header:
        return "x-frame-options-not-implemented", False
    if xfo in {"deny", "sameorigin"}:
        return "x-frame-options-sameorigin-or-deny", True
    if xfo.startswith("allow-from"):
        return "x-frame-options-allow-from-origin", True
    return "x-frame-options-header-invalid", False


def _corp_test(headers: Headers) -> tuple[str, bool]:
    corp = (_header(headers, "cross-origin-resource-policy") or "")[:256].strip().lower()
    results = {
        "": "corp-not-implemented",
        "same-site": "corp-implemented-with-same-site",
        "same-origin": "corp-implemented-with-same-origin",
        "cross-origin": "corp-implemented-with-cross-origin",
    }
    result = results.get(corp, "corp-header-invalid")
    return result, result != "corp-header-invalid"


# --- Subresource Integrity (subresource-integrity.js) -------------------------------------------


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))


def _site(host: str | None) -> str | None:
    """tldts' registrable domain, approximated by the last two labels (no public-suffix list)."""
    if host is None or "." not in host or host.replace(".", "").isdigit() or ":" in host:
        return None  # single labels and IP addresses have no registrable domain
    return ".".join(host.lower().rstrip(".").split(".")[-2:])


_SRI_ORDER = [
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
]


def _sri_test(
    headers: Headers, html: str | None, *, https: bool, hostname: str | None
) -> tuple[str, bool]:
    content_type = next(iter(_header_values(headers, "content-type")), "")
    if content_type.split(";")[0] not in {"text/html", "application/xhtml+xml"}:
        return "sri-not-implemented-response-not-html", True
    parser = _Scripts()
    parser.feed(html or "")
    parser.close()
    result: str | None = None
    foreign_scripts = False
    for script in parser.scripts:
        src = (script.get("src") or "").strip() if "src" in script else None
        if src is None:
            continue
        integrity = bool(script.get("integrity"))
        relative_protocol = re.match(r"^//[^/]", src) is not None
        full_url = re.match(r"^https?://", src, re.IGNORECASE) is not None
        relative_origin = not relative_protocol and not full_url
        same_site = relative_protocol or relative_origin
        if full_url:
            same_site = hostname is not None and _site(urlsplit(src).hostname) == _site(hostname)
        scheme = urlsplit(src).scheme.lower() if full_url else None
        secure_scheme = scheme == "https" or (relative_origin and https)
        if relative_origin or (same_site and not relative_protocol):
            if integrity and secure_scheme and result is None:
                result = "sri-implemented-and-all-scripts-loaded-securely"
            continue
        foreign_scripts = True
        if integrity and not secure_scheme:
            found = "sri-implemented-but-external-scripts-not-loaded-securely"
        elif not integrity and secure_scheme:
            found = "sri-not-implemented-but-external-scripts-loaded-securely"
        elif not integrity:
            found = "sri-not-implemented-and-external-scripts-not-loaded-securely"
        else:
            continue
        result = _worse(found, result, _SRI_ORDER)
    if not parser.scripts:
        result = "sri-not-implemented-but-no-scripts-loaded"
    elif result is None and foreign_scripts:
        result = "sri-implemented-and-external-scripts-loaded-securely"
    elif result is None:
        result = "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
    return result, result in {
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-not-implemented-response-not-html",
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "sri-not-implemented-but-no-scripts-loaded",
    }
