"""Strings of the Augment tab.

The transforms of :mod:`segdemo.augment.catalogue` are explained as ``augment.t.<Transform>`` and their
sliders labelled ``augment.param.<Transform>.<name>``; ``tests/test_augment.py`` checks every transform and
slider has its pair.
"""

STRINGS: dict[str, tuple[str, str]] = {
    "augment.intro": (
        "## Data augmentation: the image and its mask must move together\n"
        "Each training image is changed at random (flipped, rotated, distorted, recoloured) so the model "
        "sees more variety than the data set holds. **Geometric** transforms move pixels, so the mask moves "
        "with them (nearest interpolation: a label is never blended); **photometric** ones only change "
        "colours, so the mask stays. Grey in a mask (255) marks new borders the loss ignores.",
        "## 数据增强：图像和掩码必须一起变换\n"
        "每张训练图像都被随机改变（翻转、旋转、扭曲、改色），让模型见到比数据集本身更多的变化。"
        "**几何**变换移动像素，所以掩码随之移动（最近邻插值：标签从不混合）；**光度**变换只改变颜色，"
        "掩码保持不变。掩码中的灰色（255）表示新出现的边界，损失函数会忽略它们。",
    ),
    "augment.source": ("Source", "数据来源"),
    "augment.source.synthetic": ("synthetic scene", "合成场景"),
    "augment.source.upload": ("my image (+ mask)", "我的图像（+ 掩码）"),
    "augment.scene": ("Scene", "场景"),
    "augment.image": ("Image", "图像"),
    "augment.mask": ("Mask (index/palette PNG or .npy; optional)", "掩码（索引/调色板 PNG 或 .npy；可选）"),
    "augment.source_preview": ("Original: image, mask, overlay", "原图：图像、掩码、叠加"),
    "augment.preset": ("Pipeline preset", "流水线预设"),
    "augment.n": ("Samples", "样本数"),
    "augment.seed": ("Seed", "随机种子"),
    "augment.reroll": ("Re-roll", "换一批"),
    "augment.size": ("Output size (pixels)", "输出尺寸（像素）"),
    "augment.view.grid": ("Augmented samples", "增强样本"),
    "augment.view.align": ("Alignment check", "对齐检查"),
    "augment.view.explore": ("One transform alone", "单独看一个变换"),
    "augment.grid": ("augmented image · mask · overlay", "增强后的图像 · 掩码 · 叠加"),
    "augment.align": ("mask outlines drawn on the augmented image", "在增强后的图像上画出掩码轮廓"),
    "augment.align.help": (
        "The white lines are the **mask's** class boundaries drawn on the **augmented image**. If the mask "
        "moved with the image, every line sits exactly on an object's edge, whatever the flip, rotation or "
        "distortion. A line off its object would teach the model wrong labels.",
        "白线是**掩码**的类别边界，画在**增强后的图像**上。如果掩码与图像一起移动，无论翻转、旋转还是扭曲，"
        "每条线都正好落在物体的边缘上。偏离物体的线会教给模型错误的标签。",
    ),
    "augment.pipeline": ("The pipeline: switch transforms on and off, set p and strength",
                         "流水线：开关各个变换，设置概率 p 和强度"),
    "augment.pipeline.help": (
        "Top to bottom is the order they run in. **p** is the chance a transform runs on a sample. A "
        "*one of* group runs with its own p and then picks one switched-on member (their p are weights). "
        "Every sample is first resized to the output size.",
        "从上到下是执行顺序。**p** 是某个变换作用于一个样本的概率。“多选一”组以自己的 p 执行，"
        "然后从开启的成员中选一个（成员的 p 作为权重）。每个样本首先被缩放到输出尺寸。",
    ),
    "augment.kind.geometric": ("geometric: moves the mask", "几何：移动掩码"),
    "augment.kind.photometric": ("photometric: image only", "光度：只改图像"),
    "augment.p": ("p", "p"),
    "augment.group_p": ("p of the group", "组的概率 p"),
    "augment.explore.transform": ("Transform", "变换"),
    "augment.explore.help": (
        "One transform on its own, always applied (p = 1), with the sliders as its limits: each sample "
        "draws its own values within them.",
        "单独一个变换，每次都执行（p = 1），滑块给出取值范围：每个样本在范围内随机取值。",
    ),
    "augment.explore.grid": ("samples of this transform alone", "只用这个变换的样本"),
    "augment.export": ("Export and import", "导出与导入"),
    "augment.export.help": (
        "The pipeline as Python code (plain albumentations, the same samples for the same seed) or as "
        "albumentations JSON (`A.load`). Load a JSON file to set the switches and sliders from it.",
        "流水线可导出为 Python 代码（纯 albumentations，同一种子给出相同样本）或 albumentations JSON"
        "（`A.load`）。载入 JSON 文件即可按它设置开关和滑块。",
    ),
    "augment.download_py": ("⬇ Python code", "⬇ Python 代码"),
    "augment.download_json": ("⬇ JSON", "⬇ JSON"),
    "augment.load_json": ("Load a pipeline JSON", "载入流水线 JSON"),
    "augment.code": ("Python code of this pipeline", "此流水线的 Python 代码"),
    "augment.steps": ("pipeline (steps)", "流水线（步骤）"),
    "augment.summary": (
        "**{n} samples**, seed {seed}, {size}×{size} pixels · {borders} of {n} brought in ignored borders "
        "(grey) · {unchanged} of {n} identical to the original.",
        "**{n} 个样本**，种子 {seed}，{size}×{size} 像素 · {borders}/{n} 个引入了被忽略的边界（灰色）· "
        "{unchanged}/{n} 个与原图完全相同。",
    ),
    "augment.why_unchanged": (
        "*Why identical?* Each step runs only with its own probability p, so a sample skips every step with "
        "probability {skip} %; more often the draws undo each other (a horizontal and a vertical flip make a 180° "
        "turn, `RandomRotate90` may turn by 0). Measured over {draws} draws, {percent} % of this pipeline's samples "
        "come out identical: about {expected} of {n}. Nothing is broken.",
        "*为什么会与原图相同？* 每个步骤只按自己的概率 p 执行，所以一个样本跳过所有步骤的概率是 {skip}%；"
        "更常见的是几次抽样互相抵消（水平翻转加垂直翻转等于旋转 180°，`RandomRotate90` 也可能转 0 次）。"
        "实测 {draws} 次抽样，这条流水线有 {percent}% 的样本与原图完全相同，{n} 个里约 {expected} 个。这不是故障。",
    ),
    "augment.caption.more": ("{first} + {more} more (see the table)", "{first} 及另外 {more} 个变换（见下表）"),
    "augment.caption.same": ("= original", "= 原图"),
    "augment.applied": ("What ran on each sample, with the values it drew", "每个样本执行了哪些变换及其抽到的值"),
    "augment.table.sample": ("sample", "样本"),
    "augment.table.applied": ("transforms (values)", "变换（取值）"),
    "augment.nothing": ("no transform ran", "没有执行任何变换"),
    "augment.no_effect": ("(no effect: same as the original)", "（没有效果：与原图相同）"),
    "augment.checkerboard": (
        "No mask given: a checkerboard stands in for it, so you can still see how the mask would move.",
        "没有提供掩码：用棋盘格代替，你仍然可以看到掩码会如何移动。",
    ),
    "augment.loaded_json": ("Loaded the pipeline from {name}.", "已从 {name} 载入流水线。"),
    "augment.guide.title": ("How to read this tab", "如何阅读本页"),
    "augment.guide": (
        "- **Same seed, same grid**: the pipeline is seeded, so a grid can be shown again and discussed; "
        "*re-roll* draws a new seed.\n"
        "- Under each sample: the transforms that ran and the values they drew (e.g. `Affine(rotate=-12.3, "
        "scale=1.05)`, `RandomRotate90(factor=1)` = 90°).\n"
        "- **Too strong hurts**: if you cannot recognise the objects any more, neither can the model. "
        "Start light (flips, small rotations, mild colour), then add.\n"
        "- Photometric transforms never touch the mask; geometric ones use *nearest* interpolation for it "
        "and fill new borders with 255 (ignored), never with a real class.\n"
        "- The course's `ShiftScaleRotate` is `Affine` here (albumentations 2 removed it), and its "
        "`A.PiecewiseAffine` is `ElasticTransform` (PiecewiseAffine takes seconds per image on a CPU); "
        "the probabilities are the course's.",
        "- **同一种子，同一组结果**：流水线带有种子，因此同一组样本可以重现并讨论；*换一批* 会抽取新的种子。\n"
        "- 每个样本下方：执行了哪些变换以及它们抽到的值（例如 `Affine(rotate=-12.3, scale=1.05)`，"
        "`RandomRotate90(factor=1)` 即 90°）。\n"
        "- **太强反而有害**：如果你都认不出物体了，模型也认不出。先用轻度增强（翻转、小角度旋转、轻微改色），再逐步加强。\n"
        "- 光度变换从不改动掩码；几何变换对掩码使用*最近邻*插值，并用 255（忽略）而不是某个真实类别填充新边界。\n"
        "- 课程中的 `ShiftScaleRotate` 在这里是 `Affine`（albumentations 2 已移除前者），课程中的 "
        "`A.PiecewiseAffine` 换成了 `ElasticTransform`（PiecewiseAffine 在 CPU 上每张图要几秒）；各变换的概率与课程一致。",
    ),
    "augment.range": ("{name} must be between {low} and {high} (got {value}).",
                      "{name} 必须在 {low} 到 {high} 之间（收到 {value}）。"),
    "augment.bad_pipeline": ("The pipeline is not valid: {detail}", "流水线无效：{detail}"),
    "err.augment_mask_negative": ("{name} has negative labels.", "{name} 中有负数标签。"),
    "err.augment_json": ("{name} is not an albumentations pipeline (JSON).", "{name} 不是 albumentations 流水线（JSON）。"),
    "err.augment_json_unknown": (
        "{name} uses {transform}, which the Augment tab does not offer.",
        "{name} 使用了 {transform}，数据增强页不提供这个变换。",
    ),
    "err.augment_json_value": ("{name}: {detail}", "{name}：{detail}"),
    "err.augment_no_image": ("Upload an image first (the mask is optional).", "请先上传图像（掩码可选）。"),
    # ---- the transforms of segdemo.augment.catalogue: one line each, and their sliders ----
    "augment.t.HorizontalFlip": ('Mirrors left and right: a scene looks just as real mirrored.',
                         '左右镜像：镜像后的场景同样真实。'),
    "augment.t.VerticalFlip": ('Turns the picture upside down: fine for aerial or microscope images.',
                         '上下翻转：适合航拍或显微图像。'),
    "augment.t.RandomRotate90": ('Rotates by 0, 90, 180 or 270 degrees: no interpolation, no borders.',
                         '旋转 0、90、180 或 270 度：无插值，无边界。'),
    "augment.t.Transpose": ('Swaps rows and columns (a flip across the diagonal).',
                         '交换行和列（沿对角线翻转）。'),
    "augment.t.Affine": ('Shifts, zooms and rotates: new borders are filled, and ignored (255) in the mask.',
                         '平移、缩放、旋转：新出现的边界被填充，在掩码中记为忽略（255）。'),
    "augment.param.Affine.shift": ('shift (fraction of size)', '平移（占尺寸比例）'),
    "augment.param.Affine.scale": ('scale ±', '缩放 ±'),
    "augment.param.Affine.rotate": ('rotate ± (degrees)', '旋转 ±（度）'),
    "augment.t.OpticalDistortion": ('Barrel or pincushion distortion, like a cheap wide-angle lens.',
                         '桶形或枕形畸变，就像廉价的广角镜头。'),
    "augment.param.OpticalDistortion.distort": ('distortion ±', '畸变 ±'),
    "augment.t.GridDistortion": ('Stretches the cells of a coarse grid by different amounts.',
                         '把粗网格的各个格子拉伸不同的程度。'),
    "augment.param.GridDistortion.steps": ('grid cells', '网格数'),
    "augment.param.GridDistortion.distort": ('distortion ±', '畸变 ±'),
    "augment.t.ElasticTransform": ('A smooth random displacement field, like rubber: popular for cells and tissue.',
                         '平滑的随机位移场，像橡皮一样：常用于细胞和组织图像。'),
    "augment.param.ElasticTransform.alpha": ('strength', '强度'),
    "augment.param.ElasticTransform.sigma": ('smoothness', '平滑度'),
    "augment.t.Perspective": ('Looks at the scene from a slightly different angle.',
                         '从稍微不同的角度观察场景。'),
    "augment.param.Perspective.scale": ('tilt', '倾斜程度'),
    "augment.t.RandomResizedCrop": ('Crops a random part and zooms it back to full size: objects appear bigger.',
                         '随机裁剪一部分再放大回原尺寸：物体显得更大。'),
    "augment.param.RandomResizedCrop.min_area": ('smallest crop (fraction of area)', '最小裁剪（面积比例）'),
    "augment.t.CLAHE": ('Local histogram equalisation: brings out detail in dark and bright areas.',
                         '局部直方图均衡：突出暗处和亮处的细节。'),
    "augment.param.CLAHE.clip_limit": ('contrast limit', '对比度上限'),
    "augment.t.Sharpen": ('Sharpens edges.',
                         '锐化边缘。'),
    "augment.param.Sharpen.alpha": ('strength', '强度'),
    "augment.t.Emboss": ('Embosses the image: edges look raised, like a relief.',
                         '浮雕效果：边缘看起来凸起。'),
    "augment.param.Emboss.alpha": ('strength', '强度'),
    "augment.param.Emboss.strength": ('relief', '浮雕深度'),
    "augment.t.RandomBrightnessContrast": ('Makes the picture brighter or darker, flatter or punchier.',
                         '让图像更亮或更暗，对比度更低或更高。'),
    "augment.param.RandomBrightnessContrast.brightness": ('brightness ±', '亮度 ±'),
    "augment.param.RandomBrightnessContrast.contrast": ('contrast ±', '对比度 ±'),
    "augment.t.HueSaturationValue": ('Shifts colours, colourfulness and lightness: a red car stays a car.',
                         '改变色相、饱和度和明度：红色的车依然是车。'),
    "augment.param.HueSaturationValue.hue": ('hue ±', '色相 ±'),
    "augment.param.HueSaturationValue.saturation": ('saturation ±', '饱和度 ±'),
    "augment.param.HueSaturationValue.value": ('value ±', '明度 ±'),
    "augment.t.GaussianBlur": ('Blurs, like an out-of-focus camera.',
                         '模糊，就像失焦的相机。'),
    "augment.param.GaussianBlur.sigma": ('blur (sigma)', '模糊（sigma）'),
    "augment.t.GaussNoise": ('Adds sensor noise.',
                         '添加传感器噪声。'),
    "augment.param.GaussNoise.std": ('noise (std)', '噪声（标准差）'),
    "augment.t.RandomGamma": ('Changes mid-tones, keeping black and white.',
                         '改变中间调，黑白不变。'),
    "augment.param.RandomGamma.gamma": ('gamma ± (%)', '伽马 ±（%）'),
    "augment.t.ToGray": ('Drops colour: the model must recognise shapes, not colours.',
                         '去掉颜色：模型必须依靠形状而不是颜色来识别。'),
    # ---- the OneOf groups of the course's pipeline, and the presets ----
    "augment.group.distort": ('one of: distortions', '三选一：形变'),
    "augment.group.photo": ('one of: contrast and texture', '四选一：对比度与纹理'),
    "augment.preset.none": ('none (resize only)', '无（仅缩放）'),
    "augment.preset.light": ('light (for training)', '轻度（用于训练）'),
    "augment.preset.course": ("the course's pipeline", '课程中的流水线'),
}

