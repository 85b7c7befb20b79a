"""Strings of the interactive charts (hover labels that no tab had as a picture)."""

STRINGS: dict[str, tuple[str, str]] = {
    "charts.value": ("value", "数值"),
    "charts.share": ("share of the row", "占该行比例"),
    "charts.run": ("run", "训练"),
    "charts.params": ("parameters", "参数量"),
    "charts.family": ("family", "类别"),
    "charts.hover_hint": ("Hover a chart to read its values; drag to zoom, double-click to reset.",
                          "将鼠标悬停在图上可读取数值；拖动可放大，双击可复原。"),
}
