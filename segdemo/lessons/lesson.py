"""The Lesson tab's logic: the teacher's steps and the links that open each tab ready for its step."""

from __future__ import annotations

from urllib.parse import urlencode

from segdemo.strings import LANGS, t

#: (tab, the state its link sets): what each step of the script needs on screen.
STEPS: tuple[tuple[str, dict[str, str]], ...] = (
    ("overview", {}),
    ("segment", {"scene": "21", "model": "shipped:unet"}),
    ("inside", {}),
    ("augment", {"preset": "course"}),
    ("losses", {}),
    ("miou", {}),
    ("train", {}),
)
#: Query parameters a link may carry, and the tabs that exist.
PARAMS = ("tab", "scene", "model", "preset", "lang")


def link(tab: str, state: dict[str, str], lang: str) -> str:
    """The page address (relative) that opens ``tab`` in ``state`` in ``lang``: ``?tab=segment&scene=21&lang=zh``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return "?" + urlencode({"tab": tab, **state, "lang": lang})


def script(lang: str) -> str:
    """The whole script as Markdown in ``lang``: intro, then each step with its link."""
    parts = [t("lesson.intro", lang)]
    for tab, state in STEPS:
        parts.append(t(f"lesson.step.{tab}", lang) + f"\n\n[{t('lesson.open', lang)} →]({link(tab, state, lang)})")
    return "\n\n".join(parts)


def parse(query: dict[str, list[str]], tabs: list[str]) -> dict[str, str]:
    """The known, valid parameters of a page address (``parse_qs`` output): unknown tabs and junk dropped."""
    out = {k: v[0] for k, v in query.items() if k in PARAMS and v and v[0]}
    if out.get("tab") not in tabs:
        out.pop("tab", None)
    if "scene" in out and not (out["scene"].isdigit() and int(out["scene"]) < 100):
        out.pop("scene")
    return out
