"""Store URLs as they may be shown: ``redact_url`` hides credentials (issue 14).

``--store https://user:pass@host:9200`` used to appear in the UI's sidebar and in the
degraded-store banner. Anything shown to a person or written to a log goes through here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = frozenset({"password", "pass", "passwd", "pwd", "api_key", "apikey", "key",
                           "token", "secret", "auth", "access_token"})
MASK = "***"
_URL_SAFE = "/:@!$&'*+,;=-._~%?#"  # kept as-is in a link target (no spaces, (), <>, ", backslash)


def http_url(value: object) -> str | None:
    """An article URL fit to be a link (UI, HTML report): ``http(s)://host/...`` with the
    scheme case-folded, unsafe characters percent-encoded and no user-info; None for anything
    else (``javascript:``, ``data:``, no host, control characters)."""
    raw = str(value or "").strip()
    if any(ord(ch) < 32 for ch in raw):
        return None
    try:
        parts = urlsplit(raw)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never show or follow user-info
    path = quote(parts.path, safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    fragment = quote(parts.fragment, safe=_URL_SAFE)
    netloc = quote(netloc, safe=":[]-._~")
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))


def redact_url(url: str) -> str:
    """``url`` with any password in its user-info and any secret query parameter masked."""
    if "://" not in url or url.startswith("sqlite:///"):
        return url  # a file path: nothing secret in it
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if user else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs],
                          safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, url: str) -> str:
    """``text`` (an error message, a health detail) with ``url``'s secrets masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    out = text.replace(url, redact_url(url))
    if parts.password:
        out = out.replace(parts.password, MASK)
    for key, value in parse_qsl(parts.query):
        if key.lower() in SECRET_PARAMS and value:
            out = out.replace(value, MASK)
    return out
