"""The studio: edit a photo or a sample with one slider per stored edit, in the browser.

`session.Studio` is the UI-free part (which edits are offered, inversion through the shared
cache, rendering a slider state, the result PNG); `app.build_app` lays it out with Gradio, the
optional extra ``latentedit[studio]``. Nothing here is imported by `latentedit --help`.
"""
