"""Keyboard shortcuts that keep working after a click on the photo.

The photo is a custom component inside an iframe: a click there moves the keyboard focus into
the iframe, where the page's shortcuts (Ctrl+Enter, Ctrl+→, 1–5) never arrive. A small script
in the page hands the focus back to the page as soon as the photo takes it; the click itself
still reaches the photo (mouse events follow the pointer, not the focus).
"""

from __future__ import annotations

import streamlit as st

_GIVE_FOCUS_BACK = """
<script>
(() => {
  const page = window;
  if (page.__pinpointKeys) return;
  page.__pinpointKeys = true;
  page.addEventListener("blur", () => setTimeout(() => {
    const active = page.document.activeElement;
    if (active && active.tagName === "IFRAME" &&
        (active.title || "").startsWith("streamlit_image_coordinates")) {
      active.blur();
      page.focus();
    }
  }, 0));
})();
</script>
"""


def keep_keys_on_page() -> None:
    """Add (once per browser tab) the script that gives the focus back to the page."""
    st.html(_GIVE_FOCUS_BACK, unsafe_allow_javascript=True)


def hide_elements(keys: list[str]) -> None:
    """Hide widgets by key (their shortcuts still work): e.g. the buttons behind keys 1–5."""
    selectors = ", ".join(f".st-key-{key}" for key in keys)
    st.html(f"<style>{selectors} {{ display: none; }}</style>")
