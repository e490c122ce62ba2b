"""What every page shares: login gate, tester name, and the once-per-process resources."""

from __future__ import annotations

import hashlib
import os
from contextlib import suppress
from pathlib import Path

import streamlit as st

from predictor import (
    FeedbackStore,
    PinpointClient,
    PinpointError,
    Predictor,
    RateLimiter,
    database_url,
    manifest_path,
)
from predictor.training_jobs import TrainingJobs


def page_setup(title: str) -> str:
    """Configure the page, require login when configured, and return the tester's name."""
    st.set_page_config(page_title=f"Pinpoint · {title}", page_icon="📍", layout="wide")
    require_login()
    return tester_ui()


def login_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section for st.login (OIDC)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: the app runs open, for local use
        return False


def login_pending() -> bool:
    """True while login is configured and this user has not logged in yet."""
    return login_configured() and not _logged_in()


def require_login() -> None:
    """When login is configured, show only the login screen until the user has logged in."""
    if login_pending():
        st.title("📍 Pinpoint")
        st.write("Please log in to use Pinpoint.")
        st.button("Log in", key="common_login", on_click=st.login, type="primary")
        st.stop()


def _logged_in() -> bool:
    # st.user has no is_logged_in at all until an identity provider has answered.
    return bool(getattr(st.user, "is_logged_in", False))


def tester_ui() -> str:
    """Return the logged-in user, or the name typed in the sidebar (kept for the session)."""
    if login_configured() and _logged_in():
        name = str(st.user.get("email") or st.user.get("name") or "user")
        st.sidebar.caption(f"Logged in as **{name}**")
        st.sidebar.button("Log out", key="common_logout", on_click=st.logout)
        return name
    typed = st.sidebar.text_input(
        "Your name", value=st.session_state.get("tester", ""), key="common_tester",
        placeholder="e.g. Ana", help="Saved with every prediction and label you make.")
    st.session_state["tester"] = typed.strip()
    return typed.strip() or "anonymous"


@st.cache_resource(show_spinner="Loading the models…", max_entries=2)
def _predictor(path: str, fingerprint: str) -> Predictor:
    # Shared by every session and thread: never mutate what this returns. Keyed by the
    # manifest's content too: once a version is promoted (here, by the CLI or the API) the
    # next page run loads the new models, while runs already going finish on the old ones.
    return Predictor.from_manifest(path)


def manifest_fingerprint(path: str) -> str:
    """A hash of the manifest's text: it changes when a version is promoted or added."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


@st.cache_resource
def _store(url: str) -> FeedbackStore:
    return FeedbackStore(url)


@st.cache_resource
def _limiter(setting: str) -> RateLimiter | None:
    return RateLimiter.from_env(setting or None)  # thread-safe; shared on purpose


@st.cache_resource
def _loads_recorded(path: str, fingerprint: str, url: str) -> bool:
    # Once per loaded model set: keep the load and warm-up times for the Performance page.
    _store(url).record_model_loads(_predictor(path, fingerprint).describe())
    return True


def load_predictor() -> Predictor:
    """Return the process-wide Predictor, or show why it cannot load and stop the page."""
    path = str(manifest_path())
    fingerprint = manifest_fingerprint(path)
    try:
        predictor = _predictor(path, fingerprint)
    except PinpointError as exc:
        st.error(f"The models could not be loaded: {exc}")
        st.stop()
    with suppress(PinpointError):  # a busy database must not stop predictions
        _loads_recorded(path, fingerprint, database_url())
    return predictor


def load_store() -> FeedbackStore:
    """Return the process-wide feedback store, or show why it cannot open and stop."""
    try:
        return _store(database_url())
    except PinpointError as exc:
        st.error(f"The feedback database could not be opened: {exc}")
        st.stop()


@st.cache_resource
def _client(url: str, key: str | None) -> PinpointClient:
    return PinpointClient(url, key)  # httpx.Client: thread-safe, with connect/read timeouts


def load_client() -> PinpointClient | None:
    """Return the service client when $PINPOINT_SERVICE_URL is set (predict through the REST
    service, with its deadlines), else None (predict in this process)."""
    url = os.environ.get("PINPOINT_SERVICE_URL")
    return _client(url, os.environ.get("PINPOINT_API_KEY")) if url else None


def load_limiter() -> RateLimiter | None:
    """Return the process-wide per-tester rate limit ($PINPOINT_RATE_LIMIT, e.g. 60/60)."""
    return _limiter(os.environ.get("PINPOINT_RATE_LIMIT", ""))


def is_admin() -> bool:
    """Who may train, promote and roll back: anyone when login is off (local use), else the
    logged-in users whose email is listed in $PINPOINT_ADMINS (comma-separated)."""
    if not login_configured():
        return True
    admins = {a.strip().lower() for a in os.environ.get("PINPOINT_ADMINS", "").split(",")}
    return _logged_in() and str(st.user.get("email") or "").lower() in admins - {""}


@st.cache_resource
def training_jobs() -> TrainingJobs:
    """The process-wide background training (one at a time; a reload still sees it)."""
    return TrainingJobs()
