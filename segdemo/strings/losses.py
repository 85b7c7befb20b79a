"""Strings of the Losses tab."""

STRINGS: dict[str, tuple[str, str]] = {
    "losses.intro": (
        "### Loss functions: what training actually minimises\n"
        "A loss turns the predicted probabilities into one number that training makes smaller. "
        "Cross-entropy and Focal score each pixel on its own; Dice, Tversky and Lovász score whole regions, "
        "the way IoU does. Every number here comes from `segdemo.losses`, the same code the trainer uses.",
        "### 损失函数：训练到底在最小化什么\n"
        "损失函数把预测的概率变成一个数，训练的目标就是让它变小。交叉熵和 Focal 损失逐像素打分；"
        "Dice、Tversky 和 Lovász 像 IoU 一样对整块区域打分。这里的每个数字都来自 `segdemo.losses`，"
        "与训练代码使用的是同一份实现。",
    ),
    "losses.section.curves": ("1 · Curves", "1 · 曲线"),
    "losses.section.imbalance": ("2 · Class imbalance", "2 · 类别不平衡"),
    "losses.section.masks": ("3 · On real masks", "3 · 真实掩码"),
    # ---- curves
    "losses.curves.help": (
        "**Left:** the loss of one pixel against p_t, the probability the model gives the pixel's true class "
        "(Lin et al. 2017, Fig. 1). γ = 0 is cross-entropy; a larger γ makes well-classified pixels "
        "(p_t > 0.5, as Lin et al. define them) almost free: at p_t = 0.9, γ = 2 scales the loss by (1 − 0.9)² = 0.01.\n\n"
        "**Right:** how hard each loss pushes the true-class logit, |∂loss/∂z|, computed by autograd through "
        "the same loss functions. At p_t = 0.9 Focal with γ = 2 pushes about 35 times less than cross-entropy: "
        "its gradient goes to the hard pixels.",
        "**左图**：单个像素的损失随 p_t（模型给该像素真实类别的概率）变化的曲线（Lin 等，2017，图 1）。"
        "γ = 0 时即交叉熵；γ 越大，易分像素（Lin 等定义为 p_t > 0.5）的损失越接近于零：p_t = 0.9、γ = 2 时，"
        "损失乘以 (1 − 0.9)² = 0.01。\n\n"
        "**右图**：各损失对真实类别 logit 的梯度大小 |∂loss/∂z|，由 autograd 对同一损失函数求导得到。"
        "p_t = 0.9 时，γ = 2 的 Focal 损失的梯度约为交叉熵的 1/35：梯度集中到了难分像素上。",
    ),
    "losses.formulas_title": ("The formulas (as this lab computes them)", "公式（本实验室的计算方式）"),
    "losses.formulas": (
        "For a pixel with true class $c$, softmax probabilities $p_k$ and $p_t = p_c$; soft counts of class $k$ "
        "over the batch: $TP_k = \\sum p_k g_k$, $FP_k = \\sum p_k (1-g_k)$, $FN_k = \\sum (1-p_k) g_k$ "
        "($g$ the one-hot truth, ignored pixels left out):\n\n"
        "- **Cross-entropy** $= -\\log p_t$, averaged over the pixels.\n"
        "- **Focal** (Lin et al. 2017) $= -\\alpha_t (1-p_t)^{\\gamma} \\log p_t$: $\\gamma = 0$ is CE; with "
        "$\\gamma = 2$ a pixel at $p_t = 0.9$ costs $(0.1)^2 = 1/100$ of its CE.\n"
        "- **Dice** $= 1 - \\frac{1}{|C|}\\sum_{k \\in C} \\frac{2\\,TP_k + s}{2\\,TP_k + FP_k + FN_k + s}$, over the "
        "classes $C$ present in the truth, smoothing $s = 1$.\n"
        "- **Tversky** (Salehi et al. 2017) $= 1 - \\frac{TP_k + s}{TP_k + \\alpha FP_k + \\beta FN_k + s}$, "
        "averaged like Dice; $\\alpha = \\beta = 0.5$ is Dice, $\\beta > \\alpha$ makes misses cost more.\n"
        "- **Lovász-Softmax** (Berman et al. 2018): the Lovász extension of $1 - IoU_k$, a convex surrogate that "
        "optimises IoU directly, averaged over the present classes.\n"
        "- **CE + Dice** $=$ CE $+$ Dice on the same softmax (the multi-class Dice, not a binary one).",
        "设某像素的真实类别为 $c$，softmax 概率为 $p_k$，$p_t = p_c$；类别 $k$ 在一个批次上的软计数为 "
        "$TP_k = \\sum p_k g_k$，$FP_k = \\sum p_k (1-g_k)$，$FN_k = \\sum (1-p_k) g_k$（$g$ 为真值的独热编码，"
        "忽略的像素不计入）：\n\n"
        "- **交叉熵** $= -\\log p_t$，对所有像素取平均。\n"
        "- **Focal 损失**（Lin 等，2017）$= -\\alpha_t (1-p_t)^{\\gamma} \\log p_t$：$\\gamma = 0$ 即交叉熵；"
        "$\\gamma = 2$ 时，$p_t = 0.9$ 的像素损失只有交叉熵的 $(0.1)^2 = 1/100$。\n"
        "- **Dice 损失** $= 1 - \\frac{1}{|C|}\\sum_{k \\in C} \\frac{2\\,TP_k + s}{2\\,TP_k + FP_k + FN_k + s}$，"
        "$C$ 为真值中出现的类别，平滑项 $s = 1$。\n"
        "- **Tversky 损失**（Salehi 等，2017）$= 1 - \\frac{TP_k + s}{TP_k + \\alpha FP_k + \\beta FN_k + s}$，"
        "与 Dice 一样对类别取平均；$\\alpha = \\beta = 0.5$ 即 Dice，$\\beta > \\alpha$ 时漏检代价更高。\n"
        "- **Lovász-Softmax**（Berman 等，2018）：$1 - IoU_k$ 的 Lovász 扩展，是直接优化 IoU 的凸替代损失，"
        "对出现的类别取平均。\n"
        "- **交叉熵 + Dice** $=$ 交叉熵 $+$ 同一 softmax 上的 Dice 损失（多类别 Dice，而不是二值 Dice）。",
    ),
    "losses.alpha": ("α of the Focal loss", "Focal 损失的 α"),
    "losses.alpha_info": (
        "Multiplies the Focal curves (α_t of this pixel's class). Lin et al. use α = 0.25 with γ = 2.",
        "按比例缩放 Focal 曲线（该像素所属类别的 α_t）。Lin 等人在 γ = 2 时使用 α = 0.25。",
    ),
    "losses.region": ("Region size (% of the image)", "区域大小（占图像的百分比）"),
    "losses.overlap.help": (
        "**Dice against overlap.** A predicted region slides over a true region of the same size. "
        "The Dice loss of the region falls in a straight line with the overlap; Lovász follows 1 − IoU, which "
        "stays high until the overlap is large. Averaged with the background, which is almost always right, "
        "the Dice loss of a small region is diluted.",
        "**Dice 与重叠度**。预测区域在同样大小的真实区域上滑动。该区域的 Dice 损失随重叠度线性下降；"
        "Lovász 损失跟随 1 − IoU，在重叠度很大之前一直较高。若与几乎总是正确的背景取平均，"
        "小区域的 Dice 损失就被稀释了。",
    ),
    "losses.plot.pt": ("probability of the true class, p_t", "真实类别的概率 p_t"),
    "losses.plot.loss": ("loss", "损失"),
    "losses.plot.grad": ("|∂loss/∂z| (log scale)", "|∂loss/∂z|（对数坐标）"),
    "losses.plot.loss_title": ("Loss of one pixel", "单个像素的损失"),
    "losses.plot.grad_title": ("Gradient size |∂loss/∂z| on the true-class logit", "梯度大小 |∂loss/∂z|（真实类别 logit）"),
    "losses.plot.ce": ("CE", "交叉熵"),
    "losses.plot.gamma": ("FL γ = {gamma}", "FL γ = {gamma}"),
    "losses.plot.easy": ("well classified", "已分对的像素"),
    "losses.plot.overlap": ("overlap of predicted and true region", "预测区域与真实区域的重叠度"),
    "losses.plot.overlap_title": ("A region of {percent}% of the image", "占图像 {percent}% 的区域"),
    "losses.plot.dice_region": ("Dice loss of the region", "区域的 Dice 损失"),
    "losses.plot.dice_mean": ("Dice loss, mean with background", "Dice 损失（与背景平均）"),
    "losses.plot.lovasz_region": ("Lovász loss of the region", "区域的 Lovász 损失"),
    "losses.plot.iou_region": ("1 − IoU of the region", "区域的 1 − IoU"),
    # ---- imbalance simulator
    "losses.sim.help": (
        "A two-class image of 20,000 pixels with one round object. Choose how rare the object is and how good "
        "the prediction is; every loss is computed on the same prediction.\n\n"
        "The right-hand plot keeps the prediction quality and changes only how rare the object is. Losses that "
        "track IoU rise with 1 − mIoU; cross-entropy and Focal fall, because the mistakes drown in the easy "
        "background. Balanced weights keep weighted CE flat, but it still misses that false alarms hurt IoU "
        "more when the object is small.",
        "一幅 20,000 像素的两类图像，其中有一个圆形目标。选择目标有多稀少、预测有多好；"
        "所有损失都在同一个预测上计算。\n\n"
        "右图保持预测质量不变，只改变目标的稀少程度。跟随 IoU 的损失会随 1 − mIoU 上升；"
        "交叉熵和 Focal 损失反而下降，因为错误被大量容易的背景像素淹没了。"
        "按类别平衡的权重让加权交叉熵保持平稳，但它仍看不出：目标越小，误检对 IoU 的伤害越大。",
    ),
    "losses.sim.fg": ("Object share (%)", "目标占比（%）"),
    "losses.sim.recall": ("Object found (%)", "找到的目标（%）"),
    "losses.sim.fp": ("False alarms (% of bg.)", "误检（占背景 %）"),
    "losses.sim.confidence": ("Confidence, hard pixels", "置信度：难分像素"),
    "losses.sim.easy": ("Confidence, easy background", "置信度：容易的背景"),
    "losses.sim.settings_help": (
        "**The sliders.** *Object found*: share of object pixels predicted as object (recall). "
        "*False alarms*: share of background pixels predicted as object. *Confidence, hard pixels*: the "
        "probability the prediction gives its class on the object, the misses and the false alarms. *Confidence, "
        "easy background*: the probability of background on correctly rejected pixels; trained models are very "
        "sure there, and the many easy pixels still add up in CE, and as leaked probability in soft Dice. "
        "Losses need scores, not labels: each pixel gets logits whose softmax gives its predicted class the "
        "chosen confidence.",
        "**滑块说明**。*找到的目标*：目标像素中被预测为目标的比例（召回率）。*误检*：被预测为目标的背景像素比例。"
        "*置信度：难分像素*：在目标、漏检和误检像素上，预测给出的类别概率。*置信度：容易的背景*："
        "正确判为背景的像素上背景类的概率。训练好的模型在这些像素上非常有把握，但容易像素数量极多，"
        "在交叉熵中仍会累积，在软 Dice 中则表现为“泄漏”的概率。损失函数需要的是分数而不是标签：我们为每个像素"
        "构造 logit，使 softmax 后其预测类别的概率恰好等于所选置信度。",
    ),
    "losses.logits_note": (
        "Losses need scores, not labels: each pixel gets logits whose softmax gives its predicted class the "
        "chosen confidence p (logit log(p·(K−1)/(1−p)) for that class, 0 for the others).",
        "损失函数需要分数而不是标签：每个像素的 logit 经 softmax 后，使其预测类别的概率等于所选的置信度 p"
        "（该类别的 logit 为 log(p·(K−1)/(1−p))，其余为 0）。",
    ),
    "losses.sim.summary": (
        "**IoU (object)** {iou} · **mIoU** {miou} · object: {fg} px, {tp} found, {fn} missed · "
        "{fp} false alarms",
        "**IoU（目标）** {iou} · **mIoU** {miou} · 目标：{fg} 像素，找到 {tp}，漏检 {fn} · 误检 {fp}",
    ),
    "losses.sim.picture": ("The simulated prediction", "模拟的预测"),
    "losses.plot.bars_title": ("Losses of this prediction", "该预测的各项损失"),
    "losses.plot.sweep_title": ("Same quality, other object shares", "质量相同、目标占比不同"),
    "losses.plot.share": ("object share of the image, % (log scale)", "目标占图像的比例，%（对数坐标）"),
    "losses.plot.one_minus_iou": ("1 − IoU (object)", "1 − IoU（目标）"),
    "losses.plot.one_minus_miou": ("1 − mIoU", "1 − mIoU"),
    "losses.plot.now": ("now", "当前"),
    "losses.table.loss": ("Loss", "损失"),
    "losses.table.value": ("Value", "数值"),
    "losses.table": ("Values", "数值"),
    "losses.outcome.tn": ("correct background", "正确的背景"),
    "losses.outcome.tp": ("correct object", "正确的目标"),
    "losses.outcome.fn": ("missed", "漏检"),
    "losses.outcome.fp": ("false alarm", "误检"),
    "losses.outcome.wrong_class": ("wrong class", "类别错误"),
    "losses.outcome.ignored": ("ignored", "忽略"),
    # ---- real masks
    "losses.masks.help": (
        "A synthetic scene and its ground truth; the prediction is the ground truth spoiled by the sliders. "
        "Watch which losses react to which mistake: dropping a small object barely moves cross-entropy but "
        "costs its class a large share of IoU, Dice and Lovász.",
        "一个合成场景及其真值；预测是被滑块“破坏”过的真值。观察哪种损失对哪种错误敏感："
        "去掉一个小目标几乎不改变交叉熵，却会让该类别的 IoU、Dice 和 Lovász 损失大幅变差。",
    ),
    "losses.masks.scene": ("Scene", "场景"),
    "losses.masks.another": ("Another scene", "换一个场景"),
    "losses.masks.drop": ("Drop smallest objects", "去掉最小的目标"),
    "losses.masks.grow": ("Grow (+) / shrink (−), px", "膨胀（+）/ 腐蚀（−），像素"),
    "losses.masks.shift_x": ("Shift right, px", "向右平移，像素"),
    "losses.masks.shift_y": ("Shift down, px", "向下平移，像素"),
    "losses.masks.noise": ("Noisy pixels (%)", "噪声像素（%）"),
    "losses.masks.confidence": ("Confidence", "置信度"),
    "losses.masks.summary": ("**mIoU** {miou} · {classes} classes in the scene", "**mIoU** {miou} · 场景中有 {classes} 个类别"),
    "losses.plot.image": ("Image", "图像"),
    "losses.plot.truth": ("Ground truth", "真值"),
    "losses.plot.prediction": ("Prediction", "预测"),
    "losses.plot.mistakes": ("Mistakes", "错误"),
    "losses.table.class": ("Class", "类别"),
    "losses.table.iou": ("IoU", "IoU"),
    "losses.table.iou_of": ("IoU · {name}", "IoU · {name}"),
    "losses.table.measure": ("IoU of each class, then each loss", "各类别的 IoU，然后是各损失"),
    "losses.iou_table": ("IoU per class", "各类别的 IoU"),
    "losses.range": (
        "{name} must be between {low} and {high}, got {value}.",
        "{name} 必须在 {low} 到 {high} 之间，收到的是 {value}。",
    ),
    # ---- guide
    "losses.guide.title": ("When to prefer which loss", "何时选用哪种损失"),
    "losses.guide": (
        "| Loss | Prefer it when | Watch out |\n|---|---|---|\n"
        "| **Cross-entropy** | the default: classes are not too unbalanced; you want calibrated probabilities | "
        "a dominant background drowns small objects |\n"
        "| **Weighted CE** | rare classes matter; weights from inverse class frequency | large weights make "
        "training noisy and over-predict rare classes |\n"
        "| **Focal** (γ = 2) | a sea of easy background pixels; hard pixels should drive learning | "
        "γ = 0 is CE; too large a γ slows learning |\n"
        "| **Dice** | small foreground; you report Dice or IoU; insensitive to class size | noisy gradients early "
        "in training; usually paired with CE |\n"
        "| **CE + Dice** | a robust default for unbalanced segmentation (nnU-Net uses it) | two terms to weigh |\n"
        "| **Lovász-Softmax** | you report mIoU: it optimises a surrogate of IoU directly | best to fine-tune "
        "after CE; sorts pixels, a little slower |\n"
        "| **Tversky** | misses and false alarms have different costs (β > α: missing a lesion is worse) | "
        "α = β = 0.5 is Dice |",
        "| 损失 | 适用场景 | 注意 |\n|---|---|---|\n"
        "| **交叉熵** | 默认选择：类别不太失衡；需要校准良好的概率 | 占主导的背景会淹没小目标 |\n"
        "| **加权交叉熵** | 稀有类别很重要；权重取类别频率的倒数 | 权重过大会让训练不稳定，并过多预测稀有类别 |\n"
        "| **Focal**（γ = 2） | 大量容易的背景像素；希望难分像素主导学习 | γ = 0 即交叉熵；γ 过大学习变慢 |\n"
        "| **Dice** | 前景很小；评价指标是 Dice 或 IoU；对类别大小不敏感 | 训练初期梯度不稳定；通常与交叉熵搭配 |\n"
        "| **交叉熵 + Dice** | 类别不平衡分割的稳妥默认（nnU-Net 采用） | 需要权衡两项的权重 |\n"
        "| **Lovász-Softmax** | 评价指标是 mIoU：直接优化 IoU 的替代函数 | 最好在交叉熵之后微调；需要排序，稍慢 |\n"
        "| **Tversky** | 漏检与误检代价不同（β > α：漏掉病灶更糟） | α = β = 0.5 即 Dice |",
    ),
}
