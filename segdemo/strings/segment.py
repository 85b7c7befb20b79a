"""Strings of the Segment tab."""

STRINGS: dict[str, tuple[str, str]] = {
    "segment.intro": (
        "## Segment: one label per pixel, live\n"
        "Pick an architecture, segment a synthetic scene (its ground truth is known, so you see the mIoU and "
        "where the model is wrong) or your own image, and compare up to four models side by side.",
        "## 分割：实时为每个像素分配一个标签\n"
        "选择一种架构，分割一张合成场景（真值已知，可以看到 mIoU 和模型出错的位置）或你自己的图像，"
        "并排比较最多四个模型。",
    ),
    "segment.source": ("Image", "图像"),
    "segment.source_scene": ("Synthetic scene", "合成场景"),
    "segment.source_upload": ("My image (upload, webcam, clipboard)", "我的图像（上传、摄像头、剪贴板）"),
    "segment.scene": ("Scene number", "场景编号"),
    "segment.examples": ("Example scenes: click one to segment it", "示例场景：点击一个即可分割"),
    "segment.photos": ("Real photos (public domain / CC0)", "真实照片（公有领域 / CC0）"),
    "segment.image": ("Your image", "你的图像"),
    "segment.model": ("Model", "模型"),
    "segment.compare": ("Compare with (up to 3 more)", "与之比较（最多再选 3 个）"),
    "segment.opacity": ("Mask opacity", "掩码不透明度"),
    "segment.run": ("Segment", "分割"),
    "segment.slider": ("Original ↔ overlay (drag)", "原图 ↔ 叠加（拖动）"),
    "segment.annotated": ("One mask per class (hover a label)", "每个类别一个掩码（悬停标签查看）"),
    "segment.confidence": ("Confidence: bright = sure, dark = unsure", "置信度：亮 = 确定，暗 = 不确定"),
    "segment.table": ("Classes present (pixel share %)", "出现的类别（像素占比 %）"),
    "segment.gallery": ("Compare: prediction, error map (green right, red wrong), truth",
                        "比较：预测、错误图（绿色正确，红色错误）、真值"),
    "segment.family.Real-time": ("Real-time", "实时"),
    "segment.family.Transformer": ("Transformer", "Transformer"),
    "segment.family.DeepLab": ("DeepLab", "DeepLab"),
    "segment.family.FCN": ("FCN", "FCN"),
    "segment.family.U-Net": ("U-Net", "U-Net"),
    # the validation score in the picker, told apart from the mIoU on the image being segmented
    "segment.val_score": (" · val mIoU {miou}", " · 验证 mIoU {miou}"),
    "segment.choice_shipped": ("{name} · shipped{score}", "{name} · 内置{score}"),
    "segment.choice_pretrained": ("{name} · VOC pretrained ({state})", "{name} · VOC 预训练（{state}）"),
    "segment.cached": ("ready offline", "可离线使用"),
    "segment.download": ("downloads once", "需下载一次"),
    "segment.unavailable": ("unavailable offline", "离线不可用"),
    "segment.downloading": ("Downloading the weights of {name} (once; later runs use the copy)",
                            "正在下载 {name} 的权重（只需一次，之后使用本地副本）"),
    "segment.no_models": (
        "No model is available yet: train one with `python -m segdemo.train` or connect to the internet once "
        "for the pretrained weights.",
        "暂无可用模型：请用 `python -m segdemo.train` 训练一个，或联网一次以下载预训练权重。",
    ),
    "segment.paper": ("paper", "论文"),
    "segment.card_numbers": ("**Params** {params} · **GFLOPs** at 512×512: {gflops}",
                             "**参数量** {params} · 512×512 下 **GFLOPs**：{gflops}"),
    "segment.trained_on_shipped": ("synthetic scenes, {size} px, {steps} steps", "合成场景，{size} 像素，{steps} 步"),
    "segment.trained_on_session": ("synthetic scenes, trained by you in the Train tab", "合成场景，由你在“训练”页训练"),
    "segment.trained_on": ("**Weights**: {data}", "**权重**：{data}"),
    "segment.val_miou": ("**Validation mIoU** (200 held-out scenes): {miou}", "**验证集 mIoU**（200 张留出场景）：{miou}"),
    "segment.needs_download": (
        "These weights are not on this computer yet: the first run downloads them (needs internet once).",
        "这些权重尚未在本机：第一次运行时会下载（需要联网一次）。",
    ),
    "segment.col_id": ("id", "编号"),
    "segment.col_class": ("class", "类别"),
    "segment.col_share": ("pixels %", "像素 %"),
    "segment.bad_opacity": ("Opacity must be between 0 and 1.", "不透明度必须在 0 到 1 之间。"),
    "segment.too_many": ("Compare at most {n} models at once.", "一次最多比较 {n} 个模型。"),
    "segment.timing": (
        "**Time** preprocess {pre} ms · forward {fwd} ms · postprocess {post} ms on **{device}** ({precision}) · image {w}×{h}",
        "**耗时**预处理 {pre} 毫秒 · 前向 {fwd} 毫秒 · 后处理 {post} 毫秒，设备 **{device}**（{precision}）· 图像 {w}×{h}",
    ),
    "segment.score": ("**mIoU against the ground truth**: {miou}", "**与真值相比的 mIoU**：{miou}"),
    "segment.caption": ("{name} · {ms} ms · {params} params", "{name} · {ms} 毫秒 · {params} 参数"),
    "segment.error_caption": ("error map", "错误图"),
    "segment.truth": ("ground truth ({w}×{h})", "真值（{w}×{h}）"),
    "segment.guide_title": ("How to read this tab", "如何阅读本页"),
    "segment.guide": (
        "- **Overlay slider**: drag to compare the image with its predicted mask.\n"
        "- **Confidence** is the largest softmax probability per pixel: models are least sure at object edges "
        "and on shapes they confuse.\n"
        "- **Compare**: coarse models (FCN-32s upsamples ×32 in one step) blur edges; skip connections "
        "(FCN-8s, U-Net, DeepLabV3+) keep them sharp. The error map shows exactly where. The val mIoU of the "
        "shipped models also says how long each was trained (the README lists every recipe), so it does not "
        "rank the architectures by itself: for a fair race, train two of them the same way in the Train tab.\n"
        "- **Shipped** models were trained by this project's training CLI (`python -m segdemo.train`, the "
        "command is in each card) on synthetic scenes (discs, squares, triangles, rings, crosses); "
        "on photos they see only shapes they know. **VOC pretrained** models know 20 everyday classes "
        "(people, cars, cats...) and need the internet once to download.",
        "- **叠加滑块**：拖动以比较图像与预测掩码。\n"
        "- **置信度**是每个像素最大的 softmax 概率：模型在物体边缘和容易混淆的形状上最不确定。\n"
        "- **比较**：粗糙的模型（FCN-32s 一步放大 32 倍）边缘模糊；跳跃连接（FCN-8s、U-Net、DeepLabV3+）"
        "能保持边缘清晰。错误图准确显示错在哪里。内置模型的验证 mIoU 也取决于各自训练了多久（README 列出了每个"
        "训练配方），因此它本身并不能给网络结构排名：想公平比较，请在“训练”页用相同设置各训练一次。\n"
        "- **内置**模型由本项目的训练脚本（`python -m segdemo.train`，命令记录在各自的模型卡中）在合成场景（圆盘、方块、三角形、圆环、十字）上训练；在照片上它们只认识这些形状。"
        "**VOC 预训练**模型认识 20 种日常类别（人、汽车、猫……），需要联网下载一次。",
    ),
    "segment.photo_hint": ("The shipped models only know the synthetic shapes: on a photo they find discs and "
                           "crosses everywhere. Pick a **VOC pretrained** model for people, animals and cars.",
                           "内置模型只认识合成的形状：在照片上它们到处都能“看到”圆盘和十字。"
                           "要识别人、动物和汽车，请选择 **VOC 预训练**模型。"),
    "err.unknown_model": ("There is no model {name}.", "没有名为 {name} 的模型。"),
    "err.scene_range": ("Scene {index} is not in 0..9999.", "场景 {index} 不在 0..9999 范围内。"),
}
