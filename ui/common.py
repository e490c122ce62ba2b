"""What every page shares: login gate, tester name, and the once-per-process resources."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import streamlit as st

from predictor import (
    DecodedImage,
    ImageLimits,
    PinpointError,
    Predictor,
    RateLimiter,
    ServedModels,
    ServiceDegraded,
    manifest_path,
)
from predictor.config import Config, Rate
from predictor.config import load_config as read_config
from predictor.learning import RecordedPrediction, record_labels
from predictor.learning.recording import predict_click, store_click
from predictor.learning.training_jobs import TrainingJobs
from predictor.service import PinpointClient, label_remote, models_remote, predict_remote
from predictor.store import FeedbackStore, PageTimes, database_url


def page_setup(title: str) -> str:
    """Configure the page, require login when configured, and return the tester's name."""
    st.set_page_config(page_title=f"Pinpoint · {title}", page_icon="📍", layout="wide")
    # Less padding around the page: the photo and its answers fit a 1366×768 laptop screen.
    st.html("<style>[data-testid='stMainBlockContainer'] {padding: 2.2rem 1.5rem 2rem;}"
            "</style>")
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
    """When login is configured, show only the login screen until the user has logged in.

    Without login the app serves this machine only: bound beyond loopback, it shows an error.
    """
    if not login_configured() and not _loopback(st.get_option("server.address")):
        st.error("Pinpoint is listening beyond this machine without login. Configure login "
                 "(.streamlit/secrets.toml [auth]) or run it on 127.0.0.1 (docs/app.md).")
        st.stop()
    if login_pending():
        st.title("📍 Pinpoint")
        st.write("Please log in to use Pinpoint.")
        st.button("Log in", key="common_login", on_click=st.login, type="primary")
        st.stop()


def _loopback(address: object) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(address).strip("[]")).is_loopback
    except ValueError:  # unset or empty: Streamlit listens on every interface
        return False


def rate_key() -> str:
    """Who the rate limit counts: the logged-in identity, else this browser session.

    Never the typed name: anyone could change it to escape the limit.
    """
    if login_configured() and _logged_in():
        return "user:" + str(st.user.get("email") or st.user.get("sub") or st.user.get("name"))
    return "session:" + st.session_state.setdefault("common_rate_key", uuid.uuid4().hex)


def _logged_in() -> bool:
    # st.user has no is_logged_in at all until an identity provider has answered.
    return bool(getattr(st.user, "is_logged_in", False))


def tester_ui() -> str:
    """Return the logged-in user, or the name typed in the sidebar (kept in the URL)."""
    if login_configured() and _logged_in():
        name = str(st.user.get("email") or st.user.get("name") or "user")
        st.sidebar.caption(f"Logged in as **{name}**")
        st.sidebar.button("Log out", key="common_logout", on_click=st.logout)
        return name
    # The name lives in the URL (?tester=Ana) too, so a reload or a bookmark keeps it.
    remembered = st.session_state.get("tester") or st.query_params.get("tester", "")
    typed = st.sidebar.text_input(
        "Your name", value=remembered, key="common_tester",
        placeholder="e.g. Ana", help="Saved with every prediction and label you make.")
    st.session_state["tester"] = typed.strip()
    if typed.strip() and st.query_params.get("tester") != typed.strip():
        st.query_params["tester"] = typed.strip()
    return typed.strip() or "anonymous"


@st.cache_resource(show_spinner="Loading the models…", max_entries=2)
def _predictor(path: str, fingerprint: str, limits: ImageLimits) -> Predictor:
    # Shared by every session and thread: never mutate what this returns. Keyed by the
    # manifest's content too: once a version is promoted (here, by the CLI or the API) the
    # next page run loads the new models, while runs already going finish on the old ones.
    return Predictor.from_manifest(path, limits=limits)


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
def _limiter(rate: Rate | None, storage: str) -> RateLimiter | None:
    # Thread-safe and shared on purpose: the limit is per tester, across sessions.
    return RateLimiter.of(rate, storage, namespace="pinpoint-app")


@st.cache_resource
def _loads_recorded(path: str, fingerprint: str, limits: ImageLimits, url: str) -> bool:
    # Once per loaded model set: keep the load and warm-up times for the Performance page.
    _store(url).record_model_loads(_predictor(path, fingerprint, limits).describe())
    return True


def load_config() -> Config:
    """Return the PINPOINT_* settings, checked; or say which one is wrong and stop the page."""
    try:
        return read_config()
    except PinpointError as exc:
        st.error(f"Pinpoint is misconfigured: {exc}")
        st.stop()


def load_models() -> ServedModels:
    """Return what the pages need to know about the served models: from the models loaded
    here, or, when $PINPOINT_SERVICE_URL is set, from the service's `GET /v1/models` (no
    model is loaded in this process then). Say so and stop the page when neither answers."""
    config = load_config()
    if not config.service_url:
        return load_predictor().facts
    try:
        return _remote_models(config.service_url, config.api_key, config.limits)
    except ServiceDegraded as exc:
        st.error(f"No predictions for now: {exc}. The app predicts through that service "
                 "($PINPOINT_SERVICE_URL); please try again in a moment, or tell whoever runs "
                 "it.")
        st.stop()


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _remote_models(url: str, key: str | None, limits: ImageLimits) -> ServedModels:
    # Asked again after 30 s, so a version promoted on the service shows here soon; a failure
    # is not cached (the next run asks again).
    return models_remote(_client(url, key), limits)


def load_predictor() -> Predictor:
    """Return the process-wide Predictor, or show why it cannot load and stop the page.

    Only where models run in this process: in remote mode the pages use `load_models()`."""
    config = load_config()  # a bad setting is named here, before anything reads it
    path, limits = str(manifest_path(config.manifest)), config.limits
    fingerprint = manifest_fingerprint(path)
    try:
        predictor = _predictor(path, fingerprint, limits)
    except PinpointError as exc:
        st.error(f"The models could not be loaded: {exc}")
        st.stop()
    with suppress(PinpointError):  # a busy database must not stop predictions
        _loads_recorded(path, fingerprint, limits, database_url())
    return predictor


def load_store() -> FeedbackStore:
    """Return the process-wide feedback store, or show why it cannot open and stop."""
    try:
        return _store(database_url())
    except PinpointError as exc:
        st.error(f"The feedback database could not be opened: {exc}")
        st.stop()


@st.cache_resource
def _page_times(url: str) -> PageTimes:
    return PageTimes(_store(url))  # one background writer per process, shared


def load_page_times() -> PageTimes | None:
    """Return the process-wide writer of the app's run time per click, or None when clicks
    are stored by the remote service (its prediction ids are not this store's)."""
    return None if load_client() is not None else _page_times(database_url())


@st.cache_resource
def _client(url: str, key: str | None) -> PinpointClient:
    return PinpointClient(url, key)  # httpx.Client: thread-safe, with connect/read timeouts


def load_client() -> PinpointClient | None:
    """Return the service client when $PINPOINT_SERVICE_URL is set (predict through the REST
    service, with its deadlines), else None (predict in this process)."""
    config = load_config()
    return _client(config.service_url, config.api_key) if config.service_url else None


def load_limiter() -> RateLimiter | None:
    """Return the process-wide per-tester rate limit ($PINPOINT_RATE_LIMIT, e.g. 60/60, counted
    where $PINPOINT_RATE_STORAGE says), or None when it is "none"."""
    config = load_config()
    return _limiter(config.app_rate, config.rate_storage)


@dataclass
class Answered:
    """A click's answer, shown before it is stored. `stored()` stores it (once; StoreBusy
    leaves it to try again) and returns it with its row id."""

    result: RecordedPrediction
    store: Callable[[], RecordedPrediction] | None = None

    @property
    def pending(self) -> bool:
        return self.store is not None

    def stored(self) -> RecordedPrediction:
        if self.store is not None:
            self.result = self.store()
            self.store = None
        return self.result


@dataclass(frozen=True)
class Clicks:
    """Where the app's clicks are predicted and labeled: in this process, or through the REST
    service ($PINPOINT_SERVICE_URL). Chosen once, in `load_clicks`; the rate limit is checked
    here, the same way for both."""

    predictor: Predictor | None  # None in remote mode: no model is loaded in the app
    store: FeedbackStore
    client: PinpointClient | None
    limiter: RateLimiter | None

    def answer(self, decoded: DecodedImage, original: bytes | Path | None,
               point: tuple[float, float], tester: str, image_name: str | None = None
               ) -> Answered:
        """Predict at `point`; the answer comes back before it is stored, so the tester sees
        it sooner: `Answered.stored()` stores it (here, once) at the end of the page's run.
        Through the service it comes back stored (the service gets the `original` bytes or
        file). A point that cannot be predicted is stored as failed here, then raised.
        The rate limit counts `rate_key()`, never the typed name."""
        if self.limiter is not None:
            self.limiter.check(rate_key())
        if self.client is None:
            assert self.predictor is not None  # load_clicks loads it whenever there is no client
            click = predict_click(self.predictor, decoded, point)
            if click.prediction is None:
                store_click(self.store, click, tester=tester, source="app")  # stores, raises
            assert click.prediction is not None
            return Answered(RecordedPrediction(None, click.prediction, click.crops, click.faulty),
                            partial(store_click, self.store, click, tester=tester, source="app",
                                    image_name=image_name))
        assert original is not None  # decoded_ui keeps it whenever a service is configured
        return Answered(predict_remote(self.client, original, decoded, point, tester=tester,
                                       store=self.store))

    def label(self, prediction_id: int, chosen: dict[str, str | None], tester: str) -> None:
        """Store the tester's labels where the prediction was stored."""
        if self.client is None:
            assert self.predictor is not None
            record_labels(self.predictor, self.store, prediction_id, chosen, tester=tester)
        else:
            label_remote(self.client, prediction_id, chosen)


def load_clicks(store: FeedbackStore) -> Clicks:
    """Return this run's Clicks: local (the models loaded here) or remote (nothing loaded
    here), with the process-wide rate limit."""
    client = load_client()
    return Clicks(load_predictor() if client is None else None, store, client, load_limiter())


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
