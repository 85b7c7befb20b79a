"""Strings of the Inside tab (receptive field, dilation and ASPP, output stride, upsampling, feature maps)."""

STRINGS: dict[str, tuple[str, str]] = {
    "inside.intro": (
        "### Inside the networks\n"
        "The chapter's key ideas are spatial: a pixel's prediction depends on a neighbourhood (its receptive "
        "field), atrous convolution enlarges it without shrinking the feature map, FCN upsamples coarse scores "
        "and fuses them with finer ones. Here you see them on the shipped models and on your own image. "
        "**Click the image** to choose the pixel the receptive fields and dilation taps are drawn for.",
        "### 网络内部\n"
        "本章的核心概念都与空间有关：一个像素的预测取决于它周围的一片邻域（感受野）；空洞卷积在不缩小特征图的前提下扩大感受野；"
        "FCN 把粗糙的得分图上采样并与更精细的得分融合。这里在内置的模型和你自己的图像上把它们展示出来。"
        "**点击图像**，选择要绘制感受野和空洞卷积采样点的像素。",
    ),
    "inside.source": ("Image", "图像"),
    "inside.source.scene": ("Synthetic scene", "合成场景"),
    "inside.source.upload": ("My image", "我的图像"),
    "inside.scene": ("Scene number", "场景编号"),
    "inside.upload": ("Your image (reduced to 256 px)", "你的图像（缩小到 256 像素）"),
    "inside.click": ("Click a pixel", "点击一个像素"),
    "inside.x": ("x (column)", "x（列）"),
    "inside.y": ("y (row)", "y（行）"),
    "inside.section.rf": ("1 · Receptive field", "1 · 感受野"),
    "inside.section.dilation": ("2 · Dilation and ASPP", "2 · 空洞卷积与 ASPP"),
    "inside.section.stride": ("3 · Output stride", "3 · 输出步幅"),
    "inside.section.upsampling": ("4 · Upsampling", "4 · 上采样"),
    "inside.section.features": ("5 · Feature maps", "5 · 特征图"),
    # ---- receptive field
    "inside.rf.help": (
        "**Theoretical receptive field** (cyan square): every input pixel that *can* change the clicked "
        "pixel's score, computed from the layer graph: each layer with kernel k, dilation d and stride s turns "
        "the field r and the jump j (distance between neighbouring cells, in input pixels) into "
        "r + (k−1)·d·j and j·s (Araujo et al., Distill 2019).\n\n"
        "**Effective receptive field** (colours): how much each input pixel *does* change it, the gradient of "
        "the clicked pixel's logit with respect to the input (Luo et al., NeurIPS 2016). The white circle holds "
        "90 % of the gradient: far smaller than the square, and concentrated near the centre.",
        "**理论感受野**（青色方框）：所有*可能*影响所点像素得分的输入像素，由网络的层结构算出：核大小为 k、膨胀率为 d、"
        "步幅为 s 的一层，把感受野 r 和跳距 j（相邻单元在输入图上相隔的像素数）变为 r + (k−1)·d·j 和 j·s"
        "（Araujo 等，Distill 2019）。\n\n"
        "**有效感受野**（彩色）：每个输入像素*实际*对它的影响有多大，即所点像素的 logit 对输入的梯度"
        "（Luo 等，NeurIPS 2016）。白色圆圈内包含 90 % 的梯度：比方框小得多，并集中在中心附近。",
    ),
    "inside.rf.models": ("Models to compare (up to 4)", "要比较的模型（最多 4 个）"),
    "inside.rf.run": ("Draw the receptive fields", "绘制感受野"),
    "inside.rf.gallery": ("Receptive fields at the clicked pixel", "所点像素的感受野"),
    "inside.rf.caption": (
        "{name} · theory {rf} px · 90 % of the gradient within {radius} px",
        "{name} · 理论 {rf} 像素 · 90 % 梯度在 {radius} 像素内",
    ),
    "inside.rf.table": ("Receptive field in numbers", "感受野的数值"),
    "inside.rf.col.model": ("model", "模型"),
    "inside.rf.col.theory": ("theoretical RF (px)", "理论感受野（像素）"),
    "inside.rf.col.global": ("global path", "全局路径"),
    "inside.rf.col.erf": ("ERF radius, 90 % (px)", "有效感受野半径，90 %（像素）"),
    "inside.rf.col.class": ("class at the pixel", "该像素的类别"),
    "inside.rf.col.ms": ("time (ms)", "耗时（毫秒）"),
    "inside.rf.global_yes": ("yes: image pooling sees the whole image", "有：图像池化看到整幅图像"),
    "inside.rf.global_no": ("no", "无"),
    "inside.rf.layers": ("Layer by layer: how the field grows", "逐层查看：感受野如何增长"),
    "inside.rf.layer_model": ("Model", "模型"),
    "inside.rf.col.layer": ("layer", "层"),
    "inside.rf.col.kernel": ("kernel k", "核 k"),
    "inside.rf.col.stride": ("stride s", "步幅 s"),
    "inside.rf.col.dilation": ("dilation d", "膨胀率 d"),
    "inside.rf.col.r": ("field r (px)", "感受野 r（像素）"),
    "inside.rf.col.j": ("jump j (px)", "跳距 j（像素）"),
    # ---- dilation and ASPP
    "inside.dil.help": (
        "A 3×3 convolution with dilation (atrous rate) r reads 9 pixels **r apart**: a larger view for the same "
        "9 weights. Stacking rates with a common factor, such as (2, 2, 2), reads only every second pixel: the "
        "**gridding** artefact (Wang et al., WACV 2018); rates like (1, 2, 5) leave no hole. In the coverage "
        "maps each square is one input pixel, its colour the number of paths to the centre output; dark red "
        "squares are never read.",
        "膨胀率（空洞率）为 r 的 3×3 卷积读取彼此**相隔 r 像素**的 9 个像素：同样 9 个权重，看得更广。"
        "若堆叠的膨胀率有公因子，例如 (2, 2, 2)，就只读取每隔一个的像素，这就是**网格效应**（Wang 等，WACV 2018）；"
        "(1, 2, 5) 这样的组合则没有空洞。覆盖图中每个小方格是一个输入像素，颜色表示它到中心输出的路径数；深红色方格从未被读取。",
    ),
    "inside.dil.rate": ("Dilation rate r (px)", "膨胀率 r（像素）"),
    "inside.dil.stack_a": ("Stack A: rates", "堆叠 A：膨胀率"),
    "inside.dil.stack_b": ("Stack B: rates", "堆叠 B：膨胀率"),
    "inside.dil.run": ("Draw", "绘制"),
    "inside.dil.taps": ("Taps at rate r", "膨胀率 r 的采样点"),
    "inside.dil.aspp_taps": ("ASPP's taps", "ASPP 的采样点"),
    "inside.dil.coverage_a": ("Coverage of stack A", "堆叠 A 的覆盖图"),
    "inside.dil.coverage_b": ("Coverage of stack B", "堆叠 B 的覆盖图"),
    "inside.dil.summary": (
        "**Stack A ({a})**: {holes_a} of the {total_a} pixels in its square are never read. "
        "**Stack B ({b})**: {holes_b} of {total_b}.\n\n"
        "**ASPP of the shipped DeepLabV3** (output stride {os}): rates {rates} on the feature map are "
        "{px} px apart on the image (red, green, blue); the fifth branch averages the whole image.",
        "**堆叠 A（{a}）**：其方形区域内 {total_a} 个像素中有 {holes_a} 个从未被读取。"
        "**堆叠 B（{b}）**：{total_b} 个中有 {holes_b} 个。\n\n"
        "**内置 DeepLabV3 的 ASPP**（输出步幅 {os}）：特征图上的膨胀率 {rates} 对应图像上相隔 {px} 像素（红、绿、蓝）；"
        "第五个分支对整幅图像取平均。",
    ),
    "inside.aspp.help": (
        "**ASPP branch ablation.** ASPP looks at the feature map through five parallel branches (a 1×1 "
        "convolution, three 3×3 atrous convolutions, image pooling). Silencing one (its output set to zero, "
        "everything else as trained) shows what the network lost without it. The table was measured on the "
        "validation scenes by `python -m segdemo.tools.ablation`; the pictures are the live effect on the "
        "current image.",
        "**ASPP 分支消融。** ASPP 通过五个并行分支观察特征图（一个 1×1 卷积、三个 3×3 空洞卷积和图像池化）。"
        "让其中一个分支“静音”（输出置零，其余部分保持训练结果不变），就能看出网络失去它之后损失了什么。"
        "表格由 `python -m segdemo.tools.ablation` 在验证场景上测得；图片是对当前图像的实时效果。",
    ),
    "inside.aspp.run": ("Silence each branch on this image", "在此图像上逐一静音各分支"),
    "inside.aspp.table": ("ASPP ablation", "ASPP 消融"),
    "inside.aspp.gallery": ("Prediction with one branch silenced", "静音一个分支后的预测"),
    "inside.aspp.caption": ("{branch} · mIoU {miou} on this scene", "{branch} · 此场景 mIoU {miou}"),
    "inside.aspp.caption_plain": ("{branch}", "{branch}"),
    "inside.aspp.missing": (
        "Not measured yet: run `python -m segdemo.tools.ablation`.",
        "尚未测量：请运行 `python -m segdemo.tools.ablation`。",
    ),
    "inside.aspp.stored": (
        "Validation: {n} scenes at {size} px, boundary F-score within {tol} px; measured by `{command}` ({date}).",
        "验证集：{n} 个 {size} 像素的场景，边界 F 值的容差为 {tol} 像素；由 `{command}` 测得（{date}）。",
    ),
    "inside.aspp.col.branch": ("silenced branch", "静音的分支"),
    "inside.aspp.col.miou": ("val mIoU", "验证 mIoU"),
    "inside.aspp.col.delta": ("change", "变化"),
    "inside.aspp.col.bf": ("val boundary F", "验证边界 F 值"),
    "inside.aspp.col.live": ("mIoU on this scene", "此场景 mIoU"),
    "inside.aspp.col.ms": ("ASPP + head here (ms)", "此处 ASPP 与分类头耗时（毫秒）"),
    "inside.branch.full": ("none (full model)", "无（完整模型）"),
    "inside.branch.conv1x1": ("1×1 convolution", "1×1 卷积"),
    "inside.branch.rate1": ("3×3, rate {r}", "3×3，膨胀率 {r}"),
    "inside.branch.rate2": ("3×3, rate {r}", "3×3，膨胀率 {r}"),
    "inside.branch.rate3": ("3×3, rate {r}", "3×3，膨胀率 {r}"),
    "inside.branch.pooling": ("image pooling", "图像池化"),
    # ---- output stride
    "inside.os.help": (
        "**Output stride** = image side / feature map side. The shipped DeepLabV3 was trained at output stride "
        "8: layer3 and layer4 keep their resolution and dilate their convolutions instead. The same weights can "
        "run at 16 or 32 by giving the stride back and removing the dilation (convolution weights do not depend "
        "on either). A coarser map is faster but loses boundaries, and weights tuned at 8 are not used to it. "
        "Boundary F-score: the share of boundary pixels within 2 px of a true boundary, both ways.",
        "**输出步幅** = 图像边长 / 特征图边长。内置的 DeepLabV3 以输出步幅 8 训练：layer3 和 layer4 保持分辨率，改用空洞卷积。"
        "同一组权重可以在步幅 16 或 32 下运行：恢复步幅、去掉膨胀（卷积权重与二者无关）。"
        "特征图越粗越快，但边界会丢失，而且在步幅 8 下调好的权重并不适应。"
        "边界 F 值：双向统计边界像素落在真实边界 2 像素以内的比例。",
    ),
    "inside.os.run": ("Run at output stride 8, 16, 32", "以输出步幅 8、16、32 运行"),
    "inside.os.table": ("One set of weights, three output strides", "同一组权重，三种输出步幅"),
    "inside.os.gallery": ("Prediction at each output stride", "各输出步幅下的预测"),
    "inside.os.caption": ("output stride {os} · {h}×{w} map", "输出步幅 {os} · 特征图 {h}×{w}"),
    "inside.os.caption_scored": ("output stride {os} · {h}×{w} map · mIoU {miou}",
                                 "输出步幅 {os} · 特征图 {h}×{w} · mIoU {miou}"),
    "inside.os.col.os": ("output stride", "输出步幅"),
    "inside.os.col.rates": ("ASPP rates", "ASPP 膨胀率"),
    "inside.os.col.map": ("map here", "此处特征图"),
    "inside.os.col.val_miou": ("val mIoU", "验证 mIoU"),
    "inside.os.col.val_bf": ("val boundary F", "验证边界 F 值"),
    "inside.os.col.latency": ("latency 256² (ms)", "延迟 256²（毫秒）"),
    "inside.os.col.live_miou": ("mIoU here", "此处 mIoU"),
    "inside.os.col.live_bf": ("boundary F here", "此处边界 F 值"),
    "inside.os.col.live_ms": ("time here (ms)", "此处耗时（毫秒）"),
    "inside.os.rounded": ("{rates} (rounded up)", "{rates}（向上取整）"),
    # ---- upsampling
    "inside.up.help": (
        "Five ways to enlarge a map ×2, applied three times (×8). Left: a **constant** 8×8 map: a transposed "
        "convolution whose kernel (3) is not divisible by its stride (2) adds 1, 2 or 4 overlapping kernels per "
        "output pixel and paints a **checkerboard** even here (Odena et al., Distill 2016); kernel 4 overlaps "
        "evenly, but with unequal (random, as at initialisation) weights it ripples too; resizing then "
        "convolving (resize-conv) never does. Right: the same on FCN-8s's 1/8 score map of the image (largest "
        "score per pixel). Ripple = (max − min) / mean inside the constant map.",
        "把特征图放大 ×2 的五种方法，连续做三次（×8）。左：**常数** 8×8 图：核大小（3）不能被步幅（2）整除的转置卷积，"
        "使每个输出像素叠加 1、2 或 4 个核，即使在常数输入上也画出**棋盘格**（Odena 等，Distill 2016）；核为 4 时重叠均匀，"
        "但若权重不相等（如初始化时的随机权重）也会起伏；先缩放再卷积（resize-conv）则不会。右：对 FCN-8s 在此图像上的 1/8 得分图做同样处理"
        "（每个像素的最大得分）。起伏 =（最大值 − 最小值）/ 常数图内部的均值。",
    ),
    "inside.up.random": ("Random kernel weights (as at initialisation)", "随机核权重（如初始化时）"),
    "inside.up.run": ("Upsample", "上采样"),
    "inside.up.constant": ("A constant map ×8", "常数图 ×8"),
    "inside.up.features": ("FCN-8s scores ×8", "FCN-8s 得分 ×8"),
    "inside.up.caption": ("{method} · ripple {ripple}", "{method} · 起伏 {ripple}"),
    "inside.up.method.nearest": ("nearest", "最近邻"),
    "inside.up.method.bilinear": ("bilinear", "双线性"),
    "inside.up.method.transposed_k3": ("transposed conv k3 s2", "转置卷积 k3 s2"),
    "inside.up.method.transposed_k4": ("transposed conv k4 s2", "转置卷积 k4 s2"),
    "inside.up.method.resize_conv": ("resize-conv (nearest + 3×3)", "缩放卷积（最近邻 + 3×3）"),
    "inside.up.fcn": (
        "FCN-32s, 16s, 8s: class scores at each stage (1/32, fused 1/16, fused 1/8) and the upsampled output",
        "FCN-32s、16s、8s：各阶段的类别得分（1/32、融合后的 1/16、融合后的 1/8）及上采样后的输出",
    ),
    "inside.up.fcn_caption": ("{model} · {stage} · {h}×{w}", "{model} · {stage} · {h}×{w}"),
    "inside.up.stage.out": ("output", "输出"),
    "inside.up.no_stage": ("{model} · no {stage} stage", "{model} · 无 {stage} 阶段"),
    # ---- feature maps
    "inside.fm.help": (
        "For each stage of the chosen model, the four channels with the largest mean activation on this image "
        "(bright = strong), each drawn at the same size whatever its resolution. Read the captions: the encoder "
        "shrinks the map while adding channels; U-Net's decoder restores the resolution, DeepLab keeps 1/8 "
        "with dilation.",
        "对所选模型的每个阶段，展示在此图像上平均激活最大的四个通道（越亮越强），不论分辨率都画成同样大小。"
        "请看标题：编码器缩小特征图、增加通道；U-Net 的解码器恢复分辨率，DeepLab 借助空洞卷积保持 1/8。",
    ),
    "inside.fm.model": ("Model", "模型"),
    "inside.fm.run": ("Show the feature maps", "显示特征图"),
    "inside.fm.gallery": ("Most active channels per stage", "各阶段最活跃的通道"),
    "inside.fm.caption": ("{stage} · {h}×{w} (1/{stride}) · {channels} channels",
                          "{stage} · {h}×{w}（1/{stride}）· {channels} 个通道"),
    # ---- errors
    "err.inside_point": ("The point ({x}, {y}) is outside the {w}×{h} image.", "点 ({x}, {y}) 不在 {w}×{h} 的图像内。"),
    "err.inside_no_models": ("Choose at least one model.", "请至少选择一个模型。"),
    "err.inside_too_many": ("Choose at most {n} models.", "最多选择 {n} 个模型。"),
    "err.inside_rates": (
        "{text} is not a list of 1 to 8 dilation rates ≥ 1 (sum ≤ 64), e.g. 1, 2, 5.",
        "{text} 不是由 1 到 8 个 ≥ 1 的膨胀率组成的列表（总和 ≤ 64），例如 1, 2, 5。",
    ),
    "err.inside_no_aspp": ("{model} has no ASPP module.", "{model} 没有 ASPP 模块。"),
    "err.inside_not_fcn": ("{model} is not an FCN.", "{model} 不是 FCN。"),
    "err.inside_missing": (
        "The shipped checkpoint {name} is missing; this section needs it.",
        "缺少内置的检查点 {name}，此部分需要它。",
    ),
}
