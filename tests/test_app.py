"""The app module: cheap and offline to import, and served to a real client."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_import_is_offline_and_loads_no_model(tmp_path):
    # Any socket connection during import fails loudly; no model, no CUDA, no torch hub cache.
    code = textwrap.dedent(
        """
        import os, socket, sys
        def refuse(*a, **k):
            raise RuntimeError("network access during import")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import app
        assert app.demo is not None
        if "torch" in sys.modules:
            import torch
            assert not torch.cuda.is_initialized()
        if "segdemo.models.registry" in sys.modules:
            from segdemo.models import registry
            assert registry._measure.cache_info().currsize == 0
        assert not os.path.exists(os.path.join(os.environ["TORCH_HOME"], "hub"))
        print("ok")
        """
    )
    env = {"TORCH_HOME": str(tmp_path / "torch"), "PATH": "/usr/bin:/bin",
           "NO_ALBUMENTATIONS_UPDATE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_served_config_carries_both_languages(app_url):
    import json
    import urllib.request

    with urllib.request.urlopen(app_url + "config", timeout=30) as response:
        config = json.loads(response.read())
    translations = config.get("i18n_translations") or {}
    assert {"en", "zh-CN"} <= set(translations), sorted(translations)
    assert translations["zh-CN"]["tab.overview"] == "概览"


def test_client_connects(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert "named_endpoints" in api
