"""What each tab computes, without gradio: one module per tab (``segdemo/ui/<tab>.py`` is its UI)."""
