"""The Streamlit floor for click_ratio: the same click component and one line of output."""

import sys
from pathlib import Path

import streamlit as st
from PIL import Image
from streamlit_image_coordinates import streamlit_image_coordinates

photo = Path(sys.argv[1] if len(sys.argv) > 1 else "samples/rowing_boats.jpg")
with Image.open(photo) as opened:
    image = opened.convert("RGB")
image.thumbnail((560, 560))
click = streamlit_image_coordinates(image, width=image.width, key="bare_click",
                                    image_format="JPEG", jpeg_quality=85, cursor="crosshair")
st.write(f"clicked {click['x']} {click['y']}" if click else "no click yet")
