"""Strings of the mIoU tab."""

STRINGS: dict[str, tuple[str, str]] = {
    "miou.intro": (
        "## mIoU: how good is a segmentation?\n"
        "Upload ground-truth and predicted masks (one pair, many files matched by name, or a zip with `gt/` and "
        "`pred/` folders), or score a shipped model on a synthetic scene. Every number is explained below.",
        "## mIoU：分割结果有多好？\n"
        "上传真值和预测掩码（一对、按文件名匹配的多个文件，或包含 `gt/` 和 `pred/` 两个文件夹的 zip），"
        "或在合成场景上评估内置模型。每个数字的含义见下方说明。",
    ),
    "miou.mode.files": ("My masks", "我的掩码"),
    "miou.mode.model": ("A model on a scene", "评估模型在合成场景上的预测"),
    "miou.truths": ("Ground-truth masks", "真值掩码"),
    "miou.preds": ("Predicted masks (same names)", "预测掩码（同名）"),
    "miou.zip": ("…or one zip with gt/ and pred/", "……或一个包含 gt/ 和 pred/ 的 zip"),
    "miou.palette": ("Colour masks are drawn with", "彩色掩码使用的调色板"),
    "miou.palette.none": ("index masks (no palette)", "索引掩码（无调色板）"),
    "miou.palette.scenes": ("synthetic scenes", "合成场景"),
    "miou.k": ("Number of classes (0 = detect)", "类别数（0 = 自动检测）"),
    "miou.ignore": ("Ignore index (-1 = none)", "忽略索引（-1 = 无）"),
    "miou.names": ("Class names (optional, comma-separated)", "类别名称（可选，逗号分隔）"),
    "miou.run": ("Compute metrics", "计算指标"),
    "miou.model": ("Shipped model", "内置模型"),
    "miou.scene": ("Synthetic scene", "合成场景"),
    "miou.run_model": ("Evaluate the model", "评估模型"),
    "miou.waiting": ("**Nothing to score yet.** Upload ground-truth masks *and* predictions (matched by file "
                     "name), or one zip with `gt/` and `pred/`, then press **Compute metrics**.",
                     "**还没有可评估的内容。** 请上传真值掩码*和*预测掩码（按文件名配对），或上传一个包含 `gt/` 与 "
                     "`pred/` 两个文件夹的 zip，然后点击 **计算指标**。"),
    "miou.no_models": ("No shipped model is available yet.", "暂无可用的内置模型。"),
    "miou.per_class": ("Per class", "各类别"),
    "miou.per_image": ("Per image", "各图像"),
    "miou.downloads": ("Downloads (CSV, JSON)", "下载（CSV、JSON）"),
    "miou.heatmaps_caption": ("**Confusion matrix**: rows are the true class, columns the predicted one",
                              "**混淆矩阵**：行是真实类别，列是预测类别"),
    "miou.error_map": ("Error map of the first pair", "第一对的错误图"),
    "miou.legend": (
        "<span style=\"color:rgb(60, 180, 90)\">■</span> object right (TP) · <span style=\"color:rgb(230, 70, 60)\">■</span> object where there is none (FP) · <span style=\"color:rgb(60, 120, 230)\">■</span> object missed (FN) · "
        "<span style=\"color:rgb(245, 170, 40)\">■</span> object, wrong class · <span style=\"color:rgb(40, 40, 48)\">■</span> background right · <span style=\"color:rgb(200, 200, 200)\">■</span> ignored",
        "<span style=\"color:rgb(60, 180, 90)\">■</span> 物体正确（TP）· <span style=\"color:rgb(230, 70, 60)\">■</span> 把背景当成物体（FP）· <span style=\"color:rgb(60, 120, 230)\">■</span> 漏掉物体（FN）· "
        "<span style=\"color:rgb(245, 170, 40)\">■</span> 物体类别错误 · <span style=\"color:rgb(40, 40, 48)\">■</span> 背景正确 · <span style=\"color:rgb(200, 200, 200)\">■</span> 忽略",
    ),
    "miou.error_caption": ("Error map: {name}", "错误图：{name}"),
    "miou.plot.counts": ("pixels", "像素数"),
    "miou.plot.normalised": ("row-normalised (recall per class)", "按行归一化（各类召回率）"),
    "miou.plot.pred": ("predicted class", "预测类别"),
    "miou.plot.truth": ("true class", "真实类别"),
    "miou.col.id": ("id", "编号"),
    "miou.col.name": ("class", "类别"),
    "miou.col.iou": ("IoU", "IoU"),
    "miou.col.miou": ("mIoU", "mIoU"),
    "miou.names_placeholder": ("background, disc, square", "背景, 圆盘, 方块"),
    "miou.col.dice": ("Dice", "Dice"),
    "miou.col.precision": ("precision", "精确率"),
    "miou.col.recall": ("recall", "召回率"),
    "miou.col.pixels": ("pixels", "像素数"),
    "miou.col.image": ("image", "图像"),
    "miou.col.accuracy": ("pixel accuracy", "像素准确率"),
    "miou.summary": (
        "### mIoU **{miou}** (data set) · mean of per-image mIoU **{mean}**\n"
        "pixel accuracy {acc} · mean accuracy {macc} · fwIoU {fwiou} · mean Dice {mdice} · "
        "{n} image(s), {k} classes",
        "### mIoU **{miou}**（整个数据集）· 各图像 mIoU 的平均 **{mean}**\n"
        "像素准确率 {acc} · 平均准确率 {macc} · fwIoU {fwiou} · 平均 Dice {mdice} · {n} 张图像，{k} 个类别",
    ),
    "miou.why_differ": (
        "**Why two mIoUs?** The data-set mIoU sums every image's confusion matrix first, so a class counts by its "
        "pixels over the whole set; the mean of per-image mIoUs gives every image the same weight, and a small "
        "object missed in one image costs that image a whole class. Benchmarks (VOC, Cityscapes, ADE20K) report "
        "the data-set mIoU.",
        "**为什么有两个 mIoU？** 数据集 mIoU 先把所有图像的混淆矩阵相加，每个类别按它在整个数据集里的像素计算；"
        "各图像 mIoU 的平均则让每张图像权重相同，某张图里漏掉一个小物体就会让这张图损失一整个类别。"
        "基准（VOC、Cityscapes、ADE20K）报告的是数据集 mIoU。",
    ),
    "miou.formulas_title": ("What each number means (formulas)", "每个数字的含义（公式）"),
    "miou.formulas": (
        "With the confusion matrix $n_{ij}$ = pixels of true class $i$ predicted as $j$, "
        "$t_i = \\sum_j n_{ij}$ and $K$ classes (Long et al. 2015). Rows are the truth, columns the prediction, "
        "so for class $i$: TP $= n_{ii}$, FN $= t_i - n_{ii}$ (the rest of row $i$), FP $= \\sum_j n_{ji} - n_{ii}$ "
        "(the rest of column $i$).\n\n"
        "- **Pixel accuracy** $= \\sum_i n_{ii} / \\sum_i t_i$: dominated by large classes (background).\n"
        "- **Mean accuracy** $= \\frac{1}{|C|}\\sum_{i \\in C} n_{ii}/t_i$ over the classes $C$ present in the truth "
        "($t_i > 0$): the mean recall (Long et al. divide by all $K$; a class absent from the truth has no recall).\n"
        "- **IoU** of class $i$ $= n_{ii} / (t_i + \\sum_j n_{ji} - n_{ii})$ = TP / (TP + FP + FN); "
        "**mIoU** is its mean over classes present in the truth or the prediction (absent from both: not counted, "
        "as MMSegmentation and torchmetrics do).\n"
        "- **fwIoU** $= \\sum_i t_i \\, IoU_i / \\sum_i t_i$: IoU weighted by class frequency.\n"
        "- **Dice** $= 2TP / (2TP + FP + FN) = 2\\,IoU / (1 + IoU)$, always ≥ IoU.\n"
        "- **Precision** $= TP/(TP+FP)$, **recall** $= TP/(TP+FN)$.\n"
        "- Pixels whose truth is the **ignore index** (255: borders, unlabelled) count nowhere.",
        "设混淆矩阵 $n_{ij}$ 为真实类别 $i$ 被预测为 $j$ 的像素数，$t_i = \\sum_j n_{ij}$，共 $K$ 类（Long 等，2015）。"
        "行是真值，列是预测，因此对类别 $i$：TP $= n_{ii}$，FN $= t_i - n_{ii}$（第 $i$ 行其余部分），"
        "FP $= \\sum_j n_{ji} - n_{ii}$（第 $i$ 列其余部分）。\n\n"
        "- **像素准确率** $= \\sum_i n_{ii} / \\sum_i t_i$：由大类（背景）主导。\n"
        "- **平均准确率** $= \\frac{1}{|C|}\\sum_{i \\in C} n_{ii}/t_i$，$C$ 为真值中出现的类别（$t_i > 0$）："
        "即平均召回率（Long 等除以全部 $K$ 类；真值中没有的类别没有召回率可言）。\n"
        "- 类别 $i$ 的 **IoU** $= n_{ii} / (t_i + \\sum_j n_{ji} - n_{ii})$ = TP / (TP + FP + FN)；"
        "**mIoU** 是在真值或预测中出现过的类别上的平均（两者都没有的类别不计入，与 MMSegmentation 和 torchmetrics 一致）。\n"
        "- **fwIoU** $= \\sum_i t_i \\, IoU_i / \\sum_i t_i$：按类别频率加权的 IoU。\n"
        "- **Dice** $= 2TP / (2TP + FP + FN) = 2\\,IoU / (1 + IoU)$，总是 ≥ IoU。\n"
        "- **精确率** $= TP/(TP+FP)$，**召回率** $= TP/(TP+FN)$。\n"
        "- 真值为**忽略索引**（255：边界、未标注）的像素不参与任何计数。",
    ),
    "miou.binary": ("Read 0/255 masks as background / foreground", "将 0/255 掩码读作背景 / 前景"),
    "miou.binary_note": (
        "**Read as binary masks.** Every mask holds only 0 and 255, the way binary masks are saved (U-Net's "
        "membranes, most medical data): 0 is the background, 255 the foreground (class 1), and nothing is ignored. "
        "255 is also the usual ignore label; read that way, every foreground pixel would silently drop out of the "
        "scores. Untick *Read 0/255 masks as background / foreground* if 255 really marks unlabelled pixels.",
        "**已按二值掩码读取。** 所有掩码只含 0 和 255，这正是二值掩码的保存方式（U-Net 的细胞膜数据、大多数医学数据）："
        "0 是背景，255 是前景（类别 1），不忽略任何像素。255 也是常用的忽略标签；若按忽略处理，所有前景像素都会悄悄"
        "从指标中消失。如果 255 确实表示未标注像素，请取消勾选“将 0/255 掩码读作背景 / 前景”。",
    ),
    "miou.binary_off_note": (
        "**Careful: the foreground is ignored.** Every mask holds only 0 and 255 and 255 is the ignore label, so "
        "only background pixels are scored. Tick *Read 0/255 masks as background / foreground* for binary masks.",
        "**注意：前景被忽略了。** 所有掩码只含 0 和 255，而 255 是忽略标签，因此只有背景像素参与计算。"
        "二值掩码请勾选“将 0/255 掩码读作背景 / 前景”。",
    ),
    "miou.class.background": ("background", "背景"),
    "miou.class.foreground": ("foreground", "前景"),
    "miou.conv.title": ("### The same masks in other libraries", "### 同样的掩码，在其他库中"),
    "miou.conv.quantity": ("quantity", "指标"),
    "miou.conv.miou": ("mIoU", "mIoU"),
    "miou.conv.mean_accuracy": ("mean accuracy", "平均准确率"),
    "miou.conv.mean_dice": ("mean Dice (F1)", "平均 Dice（F1）"),
    "miou.conv.dice_loss": ("Dice loss (smooth 0)", "Dice 损失（smooth = 0）"),
    "miou.conv.focal_loss": ("Focal loss (γ = 2)", "Focal 损失（γ = 2）"),
    "miou.conv.explain": (
        "Same confusion matrix, different rules, so do not be surprised when libraries disagree. A class absent "
        "from both truth and prediction is NaN and left out here; torchmetrics (`MulticlassJaccardIndex`, "
        "`MulticlassAccuracy`, `MulticlassF1Score`, `average=\"macro\"`) scores it 0 but also leaves it out of the "
        "mean; smp (`smp.metrics`, `reduction=\"macro\"`) counts it as a perfect 1 in a mean over all K classes. "
        "Mean accuracy here averages the classes in the truth; torchmetrics also counts a class that is only "
        "predicted (recall 0). smp's `DiceLoss` sums 1 − Dice over the classes in the truth but divides by all K. "
        "smp's `FocalLoss` is a sigmoid focal loss per class channel, ours a softmax focal loss per pixel. The losses "
        "score your prediction as logits giving each predicted label the probability {confidence}; — means the "
        "library has no such function.",
        "同一个混淆矩阵，规则不同，所以各个库给出的数字不一样并不奇怪。真值和预测中都没有出现的类别，在这里记为 NaN 并"
        "不计入平均；torchmetrics（`MulticlassJaccardIndex`、`MulticlassAccuracy`、`MulticlassF1Score`，"
        "`average=\"macro\"`）把它记为 0，但同样不计入平均；smp（`smp.metrics`，`reduction=\"macro\"`）把它记为"
        "满分 1，并在全部 K 个类别上取平均。这里的平均准确率只对真值中出现的类别取平均；torchmetrics 还会计入只在预测"
        "中出现的类别（召回率为 0）。smp 的 `DiceLoss` 对真值中出现的类别累加 1 − Dice，却除以全部 K 个类别。smp 的 "
        "`FocalLoss` 对每个类别通道分别计算 sigmoid focal 损失，而我们对每个像素计算 softmax focal 损失。损失按 logits "
        "计算：每个预测标签的概率为 {confidence}；“—”表示该库没有对应的函数。",
    ),
    "err.miou_unpaired": ("{name} has no partner with the same name.", "{name} 没有同名的配对文件。"),
    "err.miou_bad_zip": ("{name} is not a zip file that can be read.", "{name} 不是可读取的 zip 文件。"),
    "err.miou_zip_unsafe": ("{name} contains an unsafe path ({member}); refused.",
                            "{name} 含有不安全的路径（{member}），已拒绝。"),
    "err.miou_zip_large": ("{name} is too large once uncompressed (limit {limit} MB, {count} files).",
                           "{name} 解压后过大（上限 {limit} MB、{count} 个文件）。"),
    "err.miou_zip_folders": ("{name} needs two folders, e.g. gt/ and pred/.", "{name} 需要两个文件夹，例如 gt/ 和 pred/。"),
}
