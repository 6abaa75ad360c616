"""The Observatory scoring port: expected results come from the upstream analyzers and their tests.

Cases marked "upstream" are taken from `test/csp.test.js` / `test/cookies.test.js` in
mdn/mdn-http-observatory; modifiers come from `src/grader/charts.js`.
"""

from collections.abc import Iterable, Mapping, Sequence

import httpx
import pytest

from tests.observatory import Grade, Headers, score

# The header set config/caddy sends on every page.
CADDY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; upgrade-insecure-requests"
    ),
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Type": "text/html; charset=utf-8",
}
PAGE = '<!doctype html><title>Contacts</title><script src="/static/app.js"></script>'
SITE = "contacts.example.com"


def headers_with(drop: Iterable[str] = (), replace: Mapping[str, str] | None = None) -> Headers:
    headers = {k: v for k, v in CADDY_HEADERS.items() if k not in set(drop)}
    return headers | dict(replace or {})


def grade(
    headers: Headers | None = None,
    *,
    https: bool = True,
    redirects: bool | None = True,
    html: str | None = PAGE,
    set_cookies: Sequence[str] = (),
    cors_origin: str | None = None,
) -> Grade:
    return score(
        headers=CADDY_HEADERS if headers is None else headers,
        html=html,
        https=https,
        redirects_http_to_https=redirects,
        set_cookies=set_cookies,
        hostname=SITE,
        cors_origin=cors_origin,
    )


def outcome(result: Grade, test: str) -> tuple[str, int]:
    found = result.by_name[test]
    return found.result, found.score_modifier


def penalties(result: Grade) -> list[tuple[str, int]]:
    return [(p.result, p.score_modifier) for p in result.penalties]


def test_caddy_header_set_scores_a_plus_without_penalties() -> None:
    result = grade()

    assert {r.name: (r.result, r.score_modifier) for r in result.results} == {
        "content-security-policy": ("csp-implemented-with-no-unsafe", 5),
        "cookies": ("cookies-not-found", 0),
        "cross-origin-resource-sharing": ("cross-origin-resource-sharing-not-implemented", 0),
        "redirection": ("redirection-to-https", 0),
        "referrer-policy": ("referrer-policy-private", 5),
        "strict-transport-security": ("hsts-implemented-max-age-at-least-six-months", 0),
        "subresource-integrity": (
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
            0,
        ),
        "x-content-type-options": ("x-content-type-options-nosniff", 0),
        "x-frame-options": ("x-frame-options-implemented-via-csp", 5),
        "cross-origin-resource-policy": ("corp-implemented-with-same-origin", 10),
    }
    assert all(r.pass_ for r in result.results)
    assert (result.score, result.grade, result.penalties) == (125, "A+", [])


def test_header_names_are_case_insensitive_in_dicts_and_httpx_headers() -> None:
    lowered = {k.lower(): v for k, v in CADDY_HEADERS.items()}
    upper = httpx.Headers([(k.upper(), v) for k, v in CADDY_HEADERS.items()])

    assert grade(lowered).results == grade().results
    assert grade(upper).results == grade().results


def test_default_src_none_earns_the_larger_csp_bonus() -> None:
    csp = CADDY_HEADERS["Content-Security-Policy"].replace(
        "default-src 'self'", "default-src 'none'"
    )

    result = grade(headers_with(replace={"Content-Security-Policy": csp}))

    assert outcome(result, "content-security-policy") == (
        "csp-implemented-with-no-unsafe-default-src-none",
        10,
    )
    assert result.score == 130


def test_missing_csp_is_penalised_and_drops_every_bonus() -> None:
    result = grade(headers_with(drop=["Content-Security-Policy"]))

    assert penalties(result) == [("csp-not-implemented", -25)]
    # Without frame-ancestors the XFO header is what counts (+5, but bonuses need >= 90).
    assert outcome(result, "x-frame-options") == ("x-frame-options-sameorigin-or-deny", 5)
    assert (result.score, result.grade) == (75, "B")


def test_report_only_csp_is_not_an_enforced_policy() -> None:
    csp = CADDY_HEADERS["Content-Security-Policy"]
    headers = headers_with(
        drop=["Content-Security-Policy"], replace={"Content-Security-Policy-Report-Only": csp}
    )

    assert outcome(grade(headers), "content-security-policy") == (
        "csp-not-implemented-but-reporting-enabled",
        -25,
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("default-src 'self'; script-src 'self' 'unsafe-inline'", ("unsafe-inline", -20)),
        ("default-src 'self' 'unsafe-inline'", ("unsafe-inline", -20)),  # script-src fallback
        ("default-src 'none'; script-src https:", ("unsafe-inline", -20)),  # upstream
        ("upgrade-insecure-requests", ("unsafe-inline", -20)),  # upstream: no script-src at all
        ("default-src 'none'; script-src 'none'; object-src *", ("unsafe-inline", -20)),
        ("default-src 'none'; script-src 'unsafe-eval'", ("unsafe-eval", -10)),  # upstream
        ("default-src", ("no-unsafe-default-src-none", 10)),  # upstream: no sources = 'none'
        ("default-src 'none'; script-src http://mozilla.org", ("insecure-scheme", -20)),
        (
            "default-src 'none'; img-src http://mozilla.org",  # upstream
            ("insecure-scheme-in-passive-content-only", -10),
        ),
        (
            "object-src 'none'; script-src 'none'; style-src 'unsafe-inline'",  # upstream
            ("unsafe-inline-in-style-src-only", 0),
        ),
        (
            "default-src 'none'; script-src 'strict-dynamic' 'nonce-abc123'",  # upstream
            ("no-unsafe-default-src-none", 10),
        ),
        (
            "object-src 'none'; script-src 'unsafe-inline' 'nonce-abc123'; style-src 'none'",
            ("no-unsafe", 5),  # upstream: a nonce or hash neutralises 'unsafe-inline'
        ),
        (
            "default-src 'self'; style-src 'unsafe-inline' 'sha256-abc'",  # upstream, for styles
            ("no-unsafe", 5),
        ),
        (
            "object-src 'none'; script-src 'strict-dynamic' 'nonce-abc' 'unsafe-inline'; "
            "style-src 'none'",  # upstream: a nonce neutralises 'unsafe-inline'
            ("no-unsafe", 5),
        ),
    ],
)
def test_csp_sources_map_to_the_observatory_results(policy: str, expected: tuple[str, int]) -> None:
    result = grade(headers_with(replace={"Content-Security-Policy": policy}))

    assert outcome(result, "content-security-policy") == (
        f"csp-implemented-with-{expected[0]}",
        expected[1],
    )


@pytest.mark.parametrize(
    "policy",
    [
        "default-src 'none'; script-src 'strict-dynamic'",  # upstream: no nonce or hash
        "default-src 'none'; img-src 'self'; default-src 'none'",  # upstream: repeated
        "defa",  # upstream: shorter than any directive
        "  ",
    ],
)
def test_unparseable_csp_is_invalid(policy: str) -> None:
    result = grade(headers_with(replace={"Content-Security-Policy": policy}))

    assert outcome(result, "content-security-policy") == ("csp-header-invalid", -25)


def test_duplicate_report_directives_are_tolerated() -> None:
    policy = "default-src 'none'; report-uri /a; report-uri /b"

    result = grade(headers_with(replace={"Content-Security-Policy": policy}))

    assert outcome(result, "content-security-policy") == (
        "csp-implemented-but-duplicate-directives",
        0,
    )


def test_two_csp_fields_are_read_as_one_comma_joined_policy() -> None:
    # Node joins repeated fields with ", "; the Observatory never splits policies on commas,
    # so the second field's sources land in the first field's last directive.
    fields = [("Content-Security-Policy", "default-src 'self'; script-src 'self'")]
    fields.append(("Content-Security-Policy", "script-src 'unsafe-inline'"))
    others = [(k, v) for k, v in CADDY_HEADERS.items() if k != "Content-Security-Policy"]

    result = grade(httpx.Headers(fields + others))

    assert outcome(result, "content-security-policy") == (
        "csp-implemented-with-unsafe-inline",
        -20,
    )


def test_short_hsts_max_age_is_a_penalty_that_still_leaves_a_plus() -> None:
    result = grade(headers_with(replace={"Strict-Transport-Security": "max-age=300"}))

    assert penalties(result) == [("hsts-implemented-max-age-less-than-six-months", -10)]
    assert (result.score, result.grade) == (115, "A+")  # 90 without bonuses: they still count


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=15552000", ("hsts-implemented-max-age-at-least-six-months", 0)),
        (
            "max-age=15551999; includeSubDomains",
            ("hsts-implemented-max-age-less-than-six-months", -10),
        ),
        ("includeSubDomains; preload", ("hsts-header-invalid", -20)),
        ("max-age=31536000, max-age=31536000", ("hsts-header-invalid", -20)),
    ],
)
def test_hsts_values(value: str, expected: tuple[str, int]) -> None:
    result = grade(headers_with(replace={"Strict-Transport-Security": value}))

    assert outcome(result, "strict-transport-security") == expected


def test_missing_x_content_type_options_is_penalised() -> None:
    result = grade(headers_with(drop=["X-Content-Type-Options"]))

    assert penalties(result) == [("x-content-type-options-not-implemented", -5)]
    assert result.grade == "A+"


def test_repeated_nosniff_fields_make_an_invalid_header() -> None:
    fields = [*CADDY_HEADERS.items(), ("X-Content-Type-Options", "nosniff")]

    result = grade(httpx.Headers(fields))

    assert penalties(result) == [("x-content-type-options-header-invalid", -5)]


def test_plain_http_site_has_no_hsts_and_no_redirect() -> None:
    result = grade(https=False, redirects=None)

    assert penalties(result) == [
        ("redirection-missing", -20),
        ("hsts-not-implemented-no-https", -20),
    ]
    assert (result.score, result.grade) == (60, "C+")


def test_plain_http_page_cannot_be_the_target_of_an_https_redirect() -> None:
    with pytest.raises(ValueError, match="plain HTTP"):
        grade(https=False, redirects=True)


@pytest.mark.parametrize(
    ("redirects", "expected"),
    [
        (True, ("redirection-to-https", 0, True)),
        (None, ("redirection-not-needed-no-http", 0, True)),
        (False, ("redirection-missing", -20, False)),
    ],
)
def test_redirection_over_https(redirects: bool | None, expected: tuple[str, int, bool]) -> None:
    found = grade(redirects=redirects).by_name["redirection"]

    assert (found.result, found.score_modifier, found.pass_) == expected


@pytest.mark.parametrize(
    ("cookie", "hsts", "expected"),
    [
        ("foo=bar; Path=/", True, ("cookies-without-secure-flag-but-protected-by-hsts", -5)),
        ("foo=bar; Path=/", False, ("cookies-without-secure-flag", -20)),
        (
            "SESSIONID=bar; Path=/; HttpOnly",
            True,
            ("cookies-session-without-secure-flag-but-protected-by-hsts", -10),
        ),
        ("SESSIONID=bar; Path=/; HttpOnly", False, ("cookies-session-without-secure-flag", -40)),
        ("SESSIONID=bar; Path=/; Secure", True, ("cookies-session-without-httponly-flag", -30)),
        (
            "CSRFTOKEN=bar; Path=/; Secure; HttpOnly",
            True,
            ("cookies-anticsrf-without-samesite-flag", -20),
        ),
        (
            "SESSIONID=bar; Secure; HttpOnly; SameSite=Invalid",
            True,
            ("cookies-samesite-flag-invalid", -20),
        ),
        (
            "SESSIONID=bar; Secure; HttpOnly; SameSite=",
            True,
            ("cookies-samesite-flag-invalid", -20),
        ),
        ("SESSIONID=bar; Secure; HttpOnly", True, ("cookies-secure-with-httponly-sessions", 0)),
        (
            "SESSIONID=bar; Secure; HttpOnly; SameSite=Strict",
            True,
            ("cookies-secure-with-httponly-sessions-and-samesite", 5),
        ),
        ("heroku-session-affinity=bar; Path=/", True, ("cookies-not-found", 0)),
        ("__Secure-id=1; Path=/", True, ("cookies-not-found", 0)),  # tough-cookie drops it
    ],
)
def test_cookies(cookie: str, hsts: bool, expected: tuple[str, int]) -> None:
    headers = headers_with(drop=[] if hsts else ["Strict-Transport-Security"])

    assert outcome(grade(headers, set_cookies=[cookie]), "cookies") == expected


def test_set_cookie_fields_in_the_response_are_read() -> None:
    fields = [*CADDY_HEADERS.items(), ("Set-Cookie", "a=1; Secure"), ("Set-Cookie", "b=2")]

    result = grade(httpx.Headers(fields))

    assert penalties(result) == [("cookies-without-secure-flag-but-protected-by-hsts", -5)]


def test_public_cors_on_a_page_is_neither_penalty_nor_failure() -> None:
    result = grade(headers_with(replace={"Access-Control-Allow-Origin": "*"}))

    found = result.by_name["cross-origin-resource-sharing"]
    expected = ("cross-origin-resource-sharing-implemented-with-public-access", 0, True)
    assert (found.result, found.score_modifier, found.pass_) == expected
    assert (result.score, result.grade) == (125, "A+")


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ("true", ("cross-origin-resource-sharing-implemented-with-universal-access", -50)),
        ("false", ("cross-origin-resource-sharing-implemented-with-restricted-access", 0)),
    ],
)
def test_reflected_origin_with_credentials_is_universal_access(
    credentials: str, expected: tuple[str, int]
) -> None:
    origin = "https://http-observatory.security.mozilla.org"
    headers = headers_with(
        replace={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": credentials,
        }
    )

    result = grade(headers, cors_origin=origin)

    assert outcome(result, "cross-origin-resource-sharing") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("no-referrer-when-downgrade", ("referrer-policy-unsafe", -5)),
        ("unsafe-url, strict-origin", ("referrer-policy-private", 5)),  # the last one wins
        ("strict-origin, unsafe-url", ("referrer-policy-unsafe", -5)),
        ("nonsense", ("referrer-policy-header-invalid", -5)),
        (None, ("referrer-policy-not-implemented", 0)),
    ],
)
def test_referrer_policy(value: str | None, expected: tuple[str, int]) -> None:
    if value is None:
        headers = headers_with(drop=["Referrer-Policy"])
    else:
        headers = headers_with(replace={"Referrer-Policy": value})

    assert outcome(grade(headers), "referrer-policy") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SAMEORIGIN", ("x-frame-options-sameorigin-or-deny", 5)),
        ("ALLOW-FROM https://example.net", ("x-frame-options-allow-from-origin", 0)),
        ("maybe", ("x-frame-options-header-invalid", -20)),
        (None, ("x-frame-options-not-implemented", -20)),
    ],
)
def test_x_frame_options_without_frame_ancestors(
    value: str | None, expected: tuple[str, int]
) -> None:
    csp = CADDY_HEADERS["Content-Security-Policy"].replace("frame-ancestors 'none'; ", "")
    headers = headers_with(drop=["X-Frame-Options"], replace={"Content-Security-Policy": csp})
    if value is not None:
        headers = headers_with(replace={"Content-Security-Policy": csp, "X-Frame-Options": value})

    assert outcome(grade(headers), "x-frame-options") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("same-site", ("corp-implemented-with-same-site", 10)),
        ("cross-origin", ("corp-implemented-with-cross-origin", 0)),
        ("bogus", ("corp-header-invalid", -5)),
        (None, ("corp-not-implemented", 0)),
    ],
)
def test_cross_origin_resource_policy(value: str | None, expected: tuple[str, int]) -> None:
    drop = ["Cross-Origin-Resource-Policy"] if value is None else []
    replace = {} if value is None else {"Cross-Origin-Resource-Policy": value}

    assert outcome(grade(headers_with(drop, replace)), "cross-origin-resource-policy") == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>no scripts</p>", ("sri-not-implemented-but-no-scripts-loaded", 0)),
        (
            "<script>inline()</script>",
            ("sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0),
        ),
        (
            '<script src="https://static.example.com/a.js"></script>',  # same registrable domain
            ("sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0),
        ),
        (
            '<script src="/a.js" integrity="sha384-x"></script>',
            ("sri-implemented-and-all-scripts-loaded-securely", 5),
        ),
        (
            '<script src="https://cdn.example.net/a.js"></script>',
            ("sri-not-implemented-but-external-scripts-loaded-securely", -5),
        ),
        (
            '<script src="https://cdn.example.net/a.js" integrity="sha384-x"></script>',
            ("sri-implemented-and-external-scripts-loaded-securely", 5),
        ),
        (
            '<script src="http://cdn.example.net/a.js"></script>',
            ("sri-not-implemented-and-external-scripts-not-loaded-securely", -50),
        ),
        (
            '<script src="//cdn.example.net/a.js"></script>',
            ("sri-not-implemented-and-external-scripts-not-loaded-securely", -50),
        ),
    ],
)
def test_subresource_integrity(html: str, expected: tuple[str, int]) -> None:
    assert outcome(grade(html=html), "subresource-integrity") == expected


def test_subresource_integrity_only_applies_to_html() -> None:
    headers = headers_with(replace={"Content-Type": "application/json"})
    result = grade(headers, html='<script src="http://cdn.example.net/a.js"></script>')

    assert outcome(result, "subresource-integrity") == ("sri-not-implemented-response-not-html", 0)


def test_penalties_add_up_and_map_to_the_grade_table() -> None:
    result = grade(headers_with(drop=["Content-Security-Policy", "X-Frame-Options"]))

    assert penalties(result) == [
        ("csp-not-implemented", -25),
        ("x-frame-options-not-implemented", -20),
    ]
    assert (result.score, result.grade) == (55, "C")
