"""Predict and Label session building blocks: pick an image, click it, read, record the truth."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import streamlit as st

from predictor import (
    DecodedImage,
    PinpointError,
    RateLimited,
    ServedModels,
    StoreBusy,
    image_root,
    list_images,
    read_image,
)
from predictor.store import NONE_LABEL, FeedbackStore
from ui.common import load_clicks, load_client, load_config, load_models, load_page_times
from ui.display import decode_for_display
from ui.keys import keep_keys_on_page
from ui.labeling import (
    PHOTO_SIDE,
    Answer,
    Shown,
    answers_ui,
    choices_from,
    keys_ui,
    legend_ui,
    photo_ui,
    timing_ui,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# None: the uploader takes any file, so a GIF or a PDF gets the app's own clear message
# ("GIF images are not accepted…") rather than a tooltip on a red chip.
UPLOAD_TYPES = None
DISPLAY_SIDE = 800  # decoded at least this sharp on the longer side (enough for a 2× zoom)


@dataclass(frozen=True)
class ImageChoice:
    """An image the tester picked: a stable key, a name to show, and how to read it."""

    key: str
    name: str
    read: Callable[[], bytes | Path]


def upload_choices(files) -> list[ImageChoice]:
    """Wrap Streamlit uploads (one or many) as ImageChoices."""
    files = files if isinstance(files, list) else [files] if files else []
    return [ImageChoice(f"upload:{f.file_id}", f.name, f.getvalue) for f in files]


def sample_choices() -> list[ImageChoice]:
    """The sample photos that ship with Pinpoint."""
    return [ImageChoice(f"sample:{p.name}", p.name, partial(Path, p))
            for p in sorted(SAMPLES.glob("*.jpg"))]


def server_choices() -> list[ImageChoice]:
    """Images in the configured server folder ($PINPOINT_IMAGE_ROOT), resolved safely."""
    root = image_root()
    if root is None:
        return []
    limit = load_config().limits.max_bytes  # read once through one descriptor: bytes, not a name
    return [ImageChoice(f"server:{name}", name, partial(read_image, root, name, limit))
            for name in list_images(root)]


def image_digest(choice: ImageChoice) -> str:
    """The SHA-256 of the image's bytes (as stored with each prediction), once per session."""
    digests = st.session_state.setdefault("common_digests", {})
    if choice.key not in digests:
        try:
            source = choice.read()
            data = source.read_bytes() if isinstance(source, Path) else source
        except (OSError, PinpointError):
            data = b""
        digests[choice.key] = hashlib.sha256(data).hexdigest()
    return digests[choice.key]


def image_source_ui(prefix: str) -> ImageChoice | None:
    """Ask (in the sidebar, so the photo and its answers fit one screen) where the image comes
    from and return the tester's pick (None until there is one)."""
    sources = ["Upload a photo", "Use a sample photo"]
    sources += ["Pick from the server folder"] if image_root() else []
    with st.sidebar:
        source = st.radio("Image", sources, key=f"{prefix}_source")
        if source == sources[0]:
            upload = st.file_uploader("Photo (JPEG, PNG or WebP)", type=UPLOAD_TYPES,
                                      key=f"{prefix}_upload")
            return next(iter(upload_choices(upload)), None)
        choices = sample_choices() if source == sources[1] else server_choices()
        if not choices:
            st.info("No images found there.")
            return None
        return st.selectbox("Photo", choices, format_func=lambda c: c.name,
                            key=f"{prefix}_pick")


def decoded_ui(prefix: str, models: ServedModels, choice: ImageChoice) -> DecodedImage | None:
    """Decode the pick once (kept in the session) and return it, or None when it cannot be."""
    slot = f"{prefix}_decoded"
    st.session_state[f"{prefix}_image_name"] = choice.name  # stored with each click on it
    cached = st.session_state.get(slot)
    if cached and cached[0] == choice.key:
        return cached[1]
    try:
        source = choice.read()
        decoded = decode_for_display(source, models, DISPLAY_SIDE)
    except PinpointError as exc:
        st.error(f"This image cannot be used: {exc}")
        return None
    except Exception:  # whatever else goes wrong, the tester sees a sentence, not a traceback
        st.error("This image could not be read. Please try another one.")
        return None
    st.session_state[slot] = (choice.key, decoded)
    if load_client() is not None:  # the original bytes only matter to the remote service
        st.session_state[f"{prefix}_original"] = source
    return decoded


def save_truth(prefix: str, store: FeedbackStore, shown: Shown,
               answers: dict[str, Answer], tester: str) -> bool:
    """Store the labels with their prediction (skipped models get none) and say so; on failure
    say what to do."""
    chosen = {name: answer.label for name, answer in answers.items() if not answer.skipped}
    if not chosen:
        st.info("Nothing saved: every model skipped.")
        return True
    store_answers(prefix)  # the labels need their prediction's row
    prediction_id = shown.result.prediction_id
    if shown.answered.pending or prediction_id is None:
        st.warning("Not saved yet: the prediction itself could not be stored. Press save again.")
        return False
    try:
        load_clicks(store).label(prediction_id, chosen, tester)
    except StoreBusy as exc:
        st.warning(f"Not saved: {exc}")
        return False
    except PinpointError as exc:
        st.error(f"Not saved: {exc}")
        return False
    said = ", ".join(f"{name} = {label or NONE_LABEL}" for name, label in chosen.items())
    skipped = [name for name, answer in answers.items() if answer.skipped]
    said += f" ({', '.join(skipped)} skipped)" if skipped else ""
    st.success(f"Saved ✓ {said} (prediction #{prediction_id}).")
    return True


def _handle_click(prefix: str, store: FeedbackStore, decoded: DecodedImage, tester: str,
                  point: tuple[float, float]) -> bool:
    """Predict one click and keep its answer for this page (True; it is stored at the end of
    the run, `store_answers`), or say why there is none (False)."""
    st.session_state[f"{prefix}_click_started"] = time.perf_counter()
    original = st.session_state.get(f"{prefix}_original")
    try:
        answered = load_clicks(store).answer(
            decoded, original, point, tester, st.session_state.get(f"{prefix}_image_name"))
    except RateLimited as exc:
        st.warning(str(exc))
        return False
    except PinpointError as exc:
        st.error(f"No prediction for that point: {exc}")
        return False
    serial = st.session_state.get(f"{prefix}_serial", 0) + 1
    shown = Shown(serial, answered)
    st.session_state.update({f"{prefix}_serial": serial, f"{prefix}_result": shown})
    if answered.pending:
        st.session_state.setdefault(f"{prefix}_unstored", []).append(shown)
    return True


def store_answers(prefix: str) -> None:
    """Store the answers shown but not stored yet (this run's click, or one whose run a newer
    click cut short). A busy database keeps them for the next run; another error is shown."""
    waiting: list[Shown] = st.session_state.get(f"{prefix}_unstored", [])
    for shown in list(waiting):
        try:
            shown.answered.stored()
        except StoreBusy as exc:
            st.warning(f"This prediction is not stored yet ({exc}); it will be tried again.")
            continue
        except PinpointError as exc:
            st.error(f"This prediction could not be stored: {exc}")
        waiting.remove(shown)


def current_result(prefix: str, decoded: DecodedImage) -> Shown | None:
    """The latest click on this image in this session (None before the first click)."""
    shown = st.session_state.get(f"{prefix}_result")
    return shown if shown and shown.result.prediction.image["sha256"] == decoded.sha256 else None


@st.fragment
def click_area(prefix: str, models: ServedModels, store: FeedbackStore, decoded: DecodedImage,
               tester: str, submit: str = "Save the correct labels",
               saved: Callable[[dict[str, Answer]], None] | None = None) -> None:
    """The photo (fixed width) and, beside it, each model's top 5 and the tester's answers.

    A fragment: a click reruns only this. After a save, `saved(answers)` is called (the Label
    session moves on there); by default the area shows what was saved.
    """
    # A fragment rerun keeps the arguments of the page's last full run: ask for the served
    # models again, so a version made active since then is the one shown with this click.
    models = load_models()
    keep_keys_on_page()
    row = st.container(horizontal=True, gap="medium")
    with row.container(width=PHOTO_SIDE):
        photo_ui(prefix, decoded, partial(current_result, prefix, decoded),
                 partial(_handle_click, prefix, store, decoded, tester))
        legend_ui(models.specs)
    shown = current_result(prefix, decoded)
    with row.container(width="stretch"):
        if shown is None:
            st.info("**Click the spot you are curious about.** A white dot marks it; the "
                    "coloured squares show what each model saw.")
        else:
            _answers_area(prefix, models, store, shown, tester, submit, saved)
    store_answers(prefix)  # after the answer is on screen: the tester does not wait for it
    _keep_page_ms(prefix)


def _keep_page_ms(prefix: str) -> None:
    """Hand this click's page run time to the background writer once its row is stored (a
    row still waiting for a busy store keeps it for the next run)."""
    waiting = st.session_state.get(f"{prefix}_page_ms_unstored")
    if waiting is None or waiting[0].answered.pending:
        return
    del st.session_state[f"{prefix}_page_ms_unstored"]
    writer, prediction_id = load_page_times(), waiting[0].result.prediction_id
    if writer is not None and prediction_id is not None:
        writer.submit(prediction_id, waiting[1])


def _answers_area(prefix: str, models: ServedModels, store: FeedbackStore, shown: Shown,
                  tester: str, submit: str,
                  saved: Callable[[dict[str, Answer]], None] | None) -> None:
    picked = answers_ui(prefix, models.specs, shown)
    keys_ui(prefix, models.specs, shown, picked)
    if st.button(submit, type="primary", shortcut="Ctrl+Enter", key=f"{prefix}_save"):
        answers = choices_from(models.specs, picked)
        if isinstance(answers, str):
            st.warning(answers)
        elif save_truth(prefix, store, shown, answers, tester) and saved is not None:
            saved(answers)
    timing = st.empty()
    # what the tester waited for on the server: from the click arriving to this line
    started = st.session_state.pop(f"{prefix}_click_started", None)
    if started is not None:
        st.session_state[f"{prefix}_page_ms"] = (time.perf_counter() - started) * 1000
        st.session_state[f"{prefix}_page_ms_unstored"] = (shown,
                                                          st.session_state[f"{prefix}_page_ms"])
    with timing:
        timing_ui(shown.result, st.session_state.get(f"{prefix}_page_ms"))
