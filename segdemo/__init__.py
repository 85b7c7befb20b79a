"""segdemo: the PyTorch backends of a hands-on semantic-segmentation lab.

Nothing here imports gradio, downloads, or loads a model at import time.
"""

__version__ = "0.1.0"
