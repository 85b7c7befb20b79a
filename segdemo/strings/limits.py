"""Messages of the limits that keep one upload from taking the class down (issue 21): each names its rule.

Keys are ``err.*`` (the backends' :class:`~segdemo.errors.InputError` keys); templates take the same
``{params}`` as the English message in the code.
"""

STRINGS: dict[str, tuple[str, str]] = {
    # ---- masks and images (segdemo.imageio) ----
    "err.mask_label_value": (
        "{name} has the label {label}; mask labels are class ids from 0 to {limit}.",
        "{name} 中有标签 {label}；掩码标签应是 0 到 {limit} 之间的类别编号。",
    ),
    # ---- mIoU requests (segdemo.lessons.miou) ----
    "err.miou_zip_method": (
        "{name}: {member} is compressed with {method}; only stored and deflate (what zip tools write by "
        "default) are accepted.",
        "{name}：{member} 使用 {method} 压缩；只接受存储（不压缩）和 deflate（压缩软件的默认方式）。",
    ),
    "err.miou_zip_member_large": (
        "{name}: {member} holds more than {limit} MB once uncompressed; a mask file may hold {limit} MB.",
        "{name}：{member} 解压后超过 {limit} MB；单个掩码文件最多 {limit} MB。",
    ),
    "err.miou_zip_ratio": (
        "{name}: {member} expands more than {ratio}× when uncompressed (a zip bomb?); refused.",
        "{name}：{member} 解压后膨胀超过 {ratio} 倍（疑似压缩炸弹），已拒绝。",
    ),
    "err.miou_zip_corrupt": (
        "{name}: {member} is damaged or declares a wrong size ({detail}); refused.",
        "{name}：{member} 已损坏或声明的大小不对（{detail}），已拒绝。",
    ),
    "err.miou_too_many_files": (
        "{count} mask files in one request; the limit is {limit} ({pairs} pairs). Score them in smaller batches.",
        "一次请求包含 {count} 个掩码文件，上限为 {limit} 个（{pairs} 对）。请分批计算。",
    ),
    "err.miou_request_bytes": (
        "These masks hold {size} MB; one request may hold {limit} MB. Score them in smaller batches.",
        "这些掩码共 {size} MB，一次请求最多 {limit} MB。请分批计算。",
    ),
    "err.miou_request_pixels": (
        "These masks hold more than {limit} megapixels in all; score them in smaller batches.",
        "这些掩码总共超过 {limit} 百万像素，请分批计算。",
    ),
    "err.miou_too_many_classes": (
        "{image} has the label {label}; at most {limit} classes (labels 0 to {last}) are scored. Set the number "
        "of classes, or check that this file is a label map.",
        "{image} 中有标签 {label}；最多计算 {limit} 个类别（标签 0 到 {last}）。请设置类别数，"
        "或检查该文件是否为标签图。",
    ),
    "err.miou_classes_limit": (
        "{k} classes: the number of classes must be 1 to {limit}.",
        "{k} 个类别：类别数必须在 1 到 {limit} 之间。",
    ),
    # ---- Augment pipelines (segdemo.augment) ----
    "err.augment_too_many_steps": (
        "The pipeline has more than {limit} steps (groups' members included); use at most {limit}.",
        "流水线超过 {limit} 个步骤（含组内成员），最多使用 {limit} 个。",
    ),
    "err.augment_too_deep": (
        "OneOf groups are nested more than {limit} deep; use at most {limit} levels.",
        "OneOf 组的嵌套超过 {limit} 层，最多使用 {limit} 层。",
    ),
    "err.augment_too_slow": (
        "This pipeline would take about {seconds} s for {n} samples at {size} px; the limit is {limit} s. Use "
        "fewer or lighter steps (ElasticTransform is the slowest), fewer samples or a smaller size.",
        "该流水线生成 {n} 个 {size} 像素的样本约需 {seconds} 秒，上限为 {limit} 秒。请减少步骤或换用更轻的变换"
        "（ElasticTransform 最慢）、减少样本数或减小尺寸。",
    ),
    "err.augment_json_large": (
        "{name} has {size} KB of text; a pipeline needs at most {limit} KB.",
        "{name} 有 {size} KB 文本；一条流水线最多需要 {limit} KB。",
    ),
    "err.augment_json_deep": (
        "{name} is nested {depth} levels deep; a pipeline needs at most {limit}.",
        "{name} 嵌套了 {depth} 层；一条流水线最多需要 {limit} 层。",
    ),
    # ---- Train queue (segdemo.lessons.train) ----
    "err.train_queue_full_address": (
        "The queue is full for your network address: {n} runs from it are already waiting (limit {limit}); "
        "try again when one has started.",
        "队列已满：来自你的网络地址的 {n} 个训练已在排队（上限 {limit} 个）；请等其中一个开始后再试。",
    ),
    # ---- worker processes (segdemo.workers) ----
    "err.worker_failed": (
        "The computation stopped unexpectedly (its worker process ended); it was not finished. Please try again.",
        "计算意外中止（负责它的工作进程已退出），没有完成。请再试一次。",
    ),
}
