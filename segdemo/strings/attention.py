"""Strings of the attention view (a section of the Segment tab): where one pixel attends."""

STRINGS: dict[str, tuple[str, str]] = {
    "attention.title": ("Attention you can see", "看得见的注意力"),
    "attention.intro": (
        "Attention: looking at what matters. Pick a Transformer (SegFormer, SETR, TransUNet or Swin-Unet), "
        "then click a point of the image: each self-attention layer shows where the token under that point "
        "looks (bright = high weight). SETR and TransUNet attend to the whole image from the first layer; "
        "SegFormer to a shortened grid of keys; Swin-Unet only inside its (shifted) window.",
        "注意力机制：关注重要区域。选择一个 Transformer（SegFormer、SETR、TransUNet 或 Swin-Unet），然后点击图像上的"
        "一点：每个自注意力层都会显示该点所在词元关注的位置（越亮权重越大）。SETR 和 TransUNet 从第一层起就关注整幅"
        "图像；SegFormer 关注缩短后的键网格；Swin-Unet 只在它的（平移）窗口内关注。",
    ),
    "attention.model": ("Attention model", "注意力模型"),
    "attention.image": ("Click a point", "点击一个点"),
    "attention.layer": ("Layer", "层"),
    "attention.head": ("Head", "注意力头"),
    "attention.mean": ("average of the heads", "各头平均"),
    "attention.head_n": ("head {n}", "第 {n} 个头"),
    "attention.result": ("Where the clicked point attends", "所点位置关注的区域"),
    "attention.none": ("No shipped attention model yet.", "还没有内置的注意力模型。"),
    "attention.layer_block": ("block {block}", "第 {block} 块"),
    "attention.layer_stage": ("stage {stage} · block {block}", "第 {stage} 阶段 · 第 {block} 块"),
    "attention.layer_encoder": ("encoder stage {stage} · block {block}", "编码器第 {stage} 阶段 · 第 {block} 块"),
    "attention.layer_decoder": ("decoder stage {stage} · block {block}", "解码器第 {stage} 阶段 · 第 {block} 块"),
    "err.no_attention": ("{name} has no self-attention to show; pick one of {models}.",
                         "{name} 没有可显示的自注意力；请选择 {models} 之一。"),
    "err.point_outside": ("Click inside the image.", "请点击图像内部。"),
}
