"""Pinpoint's Streamlit app: `streamlit run app.py`. Login first (when configured), then pages.

One multipage style: st.navigation with the page files in pages/ (so no automatic discovery).
"""

import streamlit as st

from ui.common import login_pending, require_login

st.set_page_config(page_title="Pinpoint", page_icon="📍", layout="wide")
navigation = st.navigation([
    st.Page("pages/predict.py", title="Predict", icon="📍", default=True),
    st.Page("pages/label_session.py", title="Label session", icon="🏷️"),
    st.Page("pages/my_labels.py", title="My labels", icon="✏️"),
    st.Page("pages/accuracy.py", title="Accuracy", icon="🎯"),
    st.Page("pages/performance.py", title="Performance", icon="⏱️"),
    st.Page("pages/models.py", title="Models", icon="🧠"),
], position="hidden" if login_pending() else "sidebar")
require_login()  # when .streamlit/secrets.toml configures OIDC, nothing else renders before it
navigation.run()
