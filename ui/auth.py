"""The UI's login: who may open CityRadar, and who triaged an alert (issue 14).

Production (docker-compose) sets ``CITYRADAR_AUTH_FILE`` to a users file and
``CITYRADAR_REQUIRE_LOGIN=1``; the app shell then shows a sign-in form before any page and
records the signed-in user on every triage. The local demo (``cityradar demo`` / ``ui``)
sets neither: login is off and triage is recorded as the OS user.

Users file (YAML, one entry per analyst; write it with ``cityradar users add NAME --file F``)::

    users:
      analyst: scrypt$16384$8$1$<salt base64>$<hash base64>

Passwords are stored only as scrypt hashes (``hash_password``) and compared in constant time.
After ``MAX_FAILURES`` wrong passwords a browser session waits ``LOCKOUT_S`` seconds.
See docs/security.md for why the app checks passwords itself instead of an OIDC provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

import yaml

AUTH_FILE_ENV = "CITYRADAR_AUTH_FILE"
REQUIRE_ENV = "CITYRADAR_REQUIRE_LOGIN"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCKOUT_S = 30.0
SESSION_USER = "auth_user"


class AuthConfigError(ValueError):
    """The users file is missing or malformed (the app refuses to serve pages)."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    return (f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
            f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}")


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def load_users(path: str | Path) -> dict[str, str]:
    """{user: scrypt hash} from the users file; AuthConfigError when unusable."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise AuthConfigError(f"users file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise AuthConfigError(f"users file {path}: not valid YAML") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users:
        raise AuthConfigError(f"users file {path}: no 'users:' entries")
    for name, stored in users.items():
        if not isinstance(stored, str) or not stored.startswith("scrypt$"):
            raise AuthConfigError(f"users file {path}: user {name!r} has no scrypt hash "
                                  "(write it with `cityradar users add`)")
    return {str(k): v for k, v in users.items()}


def save_user(path: str | Path, name: str, password: str) -> None:
    """Add or replace ``name`` in the users file (created with mode 0600)."""
    if len(password) < MIN_PASSWORD:
        raise AuthConfigError(f"password too short: at least {MIN_PASSWORD} characters")
    path = Path(path)
    users = load_users(path) if path.exists() else {}
    users[name] = hash_password(password)
    path.write_text(yaml.safe_dump({"users": users}, sort_keys=True), encoding="utf-8")
    os.chmod(path, 0o600)


def login_required() -> bool:
    return bool(os.environ.get(AUTH_FILE_ENV)) or os.environ.get(REQUIRE_ENV, "") in (
        "1", "true", "yes")


def check(users: dict[str, str], name: str, password: str) -> bool:
    """Constant-time check; an unknown user costs the same scrypt as a known one."""
    stored = users.get(name)
    if stored is None:
        verify_password(password, hash_password("unused-dummy-password"))
        return False
    return verify_password(password, stored)


def signed_in_user() -> str | None:
    import streamlit as st

    return st.session_state.get(SESSION_USER)


def signed_in_or_open() -> bool:
    """True when pages may be listed: login is off, or this session is signed in."""
    return not login_required() or signed_in_user() is not None


def triage_user() -> str:
    """Who a triage is recorded as: the signed-in user, else (login off) the OS user."""
    from alerts.episodes import operator_name

    return signed_in_user() or operator_name() or "ui"


def gate() -> None:
    """Call first in the app shell: with login on, show the sign-in form and stop the script
    until the session is signed in; show who is signed in and a sign-out button."""
    import streamlit as st

    if not login_required():
        return
    path = os.environ.get(AUTH_FILE_ENV, "")
    try:
        if not path:
            raise AuthConfigError(f"login is required but {AUTH_FILE_ENV} is not set")
        users = load_users(path)
    except AuthConfigError as exc:
        from ui import safe

        st.error(f"CityRadar cannot check sign-ins: {safe.md(exc)}. Ask the operator.")
        st.stop()
    user = st.session_state.get(SESSION_USER)
    if user and user in users:
        with st.sidebar:
            st.text(f"Signed in as {user}")
            if st.button("Sign out", key="auth_sign_out"):
                st.session_state.pop(SESSION_USER, None)
                st.rerun()
        return
    st.title("CityRadar — sign in")
    locked_until = float(st.session_state.get("auth_locked_until", 0.0))
    with st.form("auth_login"):
        name = st.text_input("User", key="auth_name")
        password = st.text_input("Password", type="password", key="auth_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if time.time() < locked_until:
            st.error(f"Too many failed sign-ins: wait {LOCKOUT_S:.0f} seconds.")
        elif check(users, name.strip(), password):
            st.session_state[SESSION_USER] = name.strip()
            st.session_state["auth_failures"] = 0
            st.rerun()
        else:
            failures = int(st.session_state.get("auth_failures", 0)) + 1
            st.session_state["auth_failures"] = failures
            if failures >= MAX_FAILURES:
                st.session_state["auth_locked_until"] = time.time() + LOCKOUT_S
                st.session_state["auth_failures"] = 0
            st.error("Unknown user or wrong password.")
    st.stop()
