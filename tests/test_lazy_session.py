"""Lazy per-session component configs: the same configs as Gradio's eager SessionState, built on demand."""

from __future__ import annotations

import gradio as gr
from gradio import state_holder

from segdemo.ui import lazy_session


def _demo() -> gr.Blocks:
    with gr.Blocks() as demo:
        text = gr.Textbox("hello", label="A")
        number = gr.Number(3)
        state = gr.State([1, 2])
        gr.Button("go").click(lambda a, b, s: (a, b, s), [text, number, state], [text, number, state])
    return demo


def test_same_configs_as_gradio_in_the_same_order_but_built_on_demand():
    assert lazy_session.install()  # the pinned Gradio (requirements.txt)
    demo = _demo()
    eager = state_holder.SessionState.__new__(state_holder.SessionState)
    lazy_session.original_init(eager, demo)
    lazy = state_holder.SessionState(demo)
    assert isinstance(lazy.config_values, lazy_session.LazyBlockConfigs)
    assert dict.__len__(lazy.config_values) == 0  # nothing built at session start
    assert len(lazy.config_values) == len(eager.config_values)
    some = next(iter(eager.config_values))
    assert some in lazy.config_values and lazy.config_values[some] == eager.config_values[some]
    assert list(lazy.config_values.items()) == list(eager.config_values.items())
    assert list(lazy.components) == list(eager.components)
    assert (lazy.state_data, lazy._state_ttl, lazy.is_closed, lazy.STATE_TTL_WHEN_CLOSED) == \
        (eager.state_data, eager._state_ttl, eager.is_closed, eager.STATE_TTL_WHEN_CLOSED)


def test_updates_reach_the_lazy_entries():
    lazy_session.install()
    demo = _demo()
    session = state_holder.SessionState(demo)
    textbox = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox))
    session._update_value_in_config(textbox, "changed")  # an event's output, before anything was listed
    assert session.config_values[textbox]["props"]["value"] == "changed"
    listed = dict(session.config_values.items())
    assert listed[textbox]["props"]["value"] == "changed" and len(listed) == len(session.config_values)
    assert 10**9 not in session.config_values and session.config_values.get(10**9) is None
