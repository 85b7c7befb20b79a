"""Strings shared by every tab: the app's title, tab names and error messages.

``err.*`` keys are the keys of :class:`segdemo.errors.InputError`; their templates take the
same ``{params}`` as the backend's English message.
"""

STRINGS: dict[str, tuple[str, str]] = {
    "app.title": (
        "# segdemo · a hands-on semantic segmentation lab",
        "# segdemo · 语义分割动手实验室",
    ),
    "app.subtitle": (
        "Every tab turns one idea of the chapter into something you can touch. "
        "All models run on this server's CPU. The built-in models work offline; the VOC-pretrained ones "
        "download their weights once (without internet, and not yet downloaded, they are marked unavailable).",
        "每个标签页把本章的一个知识点变成可以动手操作的实验。"
        "所有模型都在本服务器的 CPU 上运行；内置模型无需联网，VOC 预训练模型首次使用时需联网下载一次权重"
        "（没有网络且尚未下载时标为不可用）。",
    ),
    "tab.overview": ("Overview", "概览"),
    "tab.segment": ("Segment", "分割"),
    "tab.inside": ("Inside", "网络内部"),
    "tab.augment": ("Augment", "数据增强"),
    "tab.losses": ("Losses", "损失函数"),
    "tab.miou": ("mIoU", "mIoU 指标"),
    "tab.train": ("Train", "训练"),
    "tab.lesson": ("Lesson", "课堂"),
    "common.coming_soon": (
        "This tab is coming in this release.",
        "此标签页将在本版本中推出。",
    ),
    "common.language": ("Language", "语言"),
    "common.error_title": ("Error", "出错了"),
    "common.warning_title": ("Warning", "注意"),
    "common.info_title": ("Note", "提示"),
    "err.unexpected": (
        "Something went wrong while handling this request ({kind}). The app is still running; "
        "please try again or try other input.",
        "处理请求时出错（{kind}）。应用仍在运行，请重试或换一个输入。",
    ),
    "err.no_input": ("Please provide an input first.", "请先提供输入。"),
    "err.not_image": (
        "{name} is not an image file that can be read (supported: JPEG, PNG, WebP, BMP, TIFF, GIF).",
        "{name} 不是可读取的图像文件（支持 JPEG、PNG、WebP、BMP、TIFF、GIF）。",
    ),
    "err.image_too_large": (
        "{name} is {width}×{height} pixels; the limit is {limit} megapixels.",
        "{name} 的尺寸为 {width}×{height} 像素，超过了 {limit} 百万像素的上限。",
    ),
    "err.unreadable_image": (
        "{name} looks truncated or corrupt and cannot be decoded.",
        "{name} 似乎已截断或损坏，无法解码。",
    ),
    "err.mask_npy": (
        "{name} is not a 2-D integer .npy array.",
        "{name} 不是二维整数 .npy 数组。",
    ),
    "err.mask_needs_palette": (
        "{name} is a colour mask; choose the palette it was drawn with to decode it.",
        "{name} 是彩色掩码，请选择绘制它所用的调色板以便解码。",
    ),
    "err.weights_offline": (
        "Could not download the weights file {file} ({error}). Without internet, download {url} on another "
        "computer and copy it into {folder}.",
        "无法下载权重文件 {file}（{error}）。如果没有网络，请在另一台电脑上下载 {url}，再复制到 {folder}。",
    ),
    "err.weights_unavailable": (
        "{name} is not on this computer and there is no internet. Download {url} on another computer and copy "
        "it into {folder}, then restart the app.",
        "{name} 不在本机，且没有网络。请在另一台电脑上下载 {url}，复制到 {folder}，然后重启应用。",
    ),
    "err.weights_corrupt": (
        "The weights file {path} is damaged or does not match the model ({error}). Delete it and try again.",
        "权重文件 {path} 已损坏或与模型不匹配（{error}）。请删除该文件后重试。",
    ),
    "err.checkpoint_missing": ("No checkpoint at {path}.", "在 {path} 没有找到检查点。"),
    "err.checkpoint_hash": (
        "{path} does not match the sha256 in its card; the file is corrupt or was replaced.",
        "{path} 与其卡片中的 sha256 不符；文件已损坏或被替换。",
    ),
    "err.checkpoint_mismatch": (
        "{path} does not fit the architecture {model} its card names ({detail}).",
        "{path} 与其卡片所写的网络结构 {model} 不匹配（{detail}）。",
    ),
    "err.shape_mismatch": (
        "Prediction {pred} and ground truth {target} differ in size.",
        "预测 {pred} 与真值 {target} 的尺寸不同。",
    ),
    "err.label_range": (
        "Labels {values} are outside 0..{last} (ignore index {ignore}).",
        "标签 {values} 超出了 0..{last} 的范围（忽略索引为 {ignore}）。",
    ),
    "err.image_too_large_mp": (
        "{name} has {megapixels} megapixels; the limit is {limit} megapixels.",
        "{name} 有 {megapixels} 百万像素，上限为 {limit} 百万像素。",
    ),
    "err.mask_colors": (
        "The mask has colours that are not in the palette: {colors}.",
        "掩码中有不在调色板里的颜色：{colors}。",
    ),
    "err.mask_labels": ("{name} has labels above 255.", "{name} 中有大于 255 的标签。"),
    "err.folder_missing": ("There is no folder {folder}.", "文件夹 {folder} 不存在。"),
    "err.folder_empty": ("No images found in {folder}.", "在 {folder} 中没有找到图像。"),
    "err.folder_unpaired": (
        "{name} has no partner with the same name in {folder}.",
        "{name} 在 {folder} 中没有同名的配对文件。",
    ),
    "err.folder_duplicate": ("{name} and {other} share a name; keep one.", "{name} 与 {other} 同名，请只保留一个。"),
    "err.folder_size_mismatch": (
        "{name}: the mask is {mask_w}×{mask_h} but the image is {image_w}×{image_h}.",
        "{name}：掩码为 {mask_w}×{mask_h}，而图像为 {image_w}×{image_h}。",
    ),
    "common.notice_resized": (
        "The image ({width}×{height}) was downscaled to {new_width}×{new_height} for speed.",
        "图像（{width}×{height}）已缩小到 {new_width}×{new_height} 以加快处理。",
    ),

    # ---- the losses by name (segdemo.losses.LOSSES), shown by the Losses and Train tabs ----
    "common.loss.ce": ('Cross-entropy', '交叉熵'),
    "common.loss.dice": ('Dice', 'Dice 损失'),
    "common.loss.focal": ('Focal', 'Focal 损失'),
    "common.loss.ce+dice": ('CE + Dice', '交叉熵 + Dice'),
    "common.loss.lovasz": ('Lovász-Softmax', 'Lovász-Softmax'),
    "common.loss.tversky": ('Tversky', 'Tversky 损失'),
    "common.loss.weighted_ce": ('Weighted CE', '加权交叉熵'),
}
