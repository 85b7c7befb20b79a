"""segdemo: a hands-on semantic segmentation lab (Gradio app).

This file only assembles the UI: the tabs are built in ``segdemo/ui/<tab>.py`` (the order and the page
shell in ``segdemo/ui/shell.py``) and their logic lives in ``segdemo/lessons/<tab>.py``. ``python app.py``
serves it (host/port from ``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT``; default http://127.0.0.1:7860).
"""

if __name__ != "__mp_main__":  # segdemo.workers' processes start from this file too: no page there
    from segdemo.ui.gradio_compat import skip_component_stubs

    skip_component_stubs()  # before Gradio is imported: 0.6-0.9 s of every start (gradio_compat section 9)

    from segdemo.ui.shell import build_demo, serve

    demo = build_demo()

if __name__ == "__main__":
    serve(demo)  # demo.launch(...), then the Segment tab's models warm up and the worker processes start
