"""Strings of the "Where the textbook code breaks" panels (segdemo.lessons.pitfalls, segdemo.ui.pitfalls).

Per pitfall ``<key>``: ``title``, ``what`` (what happens), ``why``, ``fix`` (static), then ``naive`` and
``fixed`` (formatted with the numbers of one run), and its table's columns and pictures' captions.
"""

STRINGS: dict[str, tuple[str, str]] = {
    # ---- the panel
    "pitfalls.panel": ("Where the textbook code breaks", "教材代码哪里会出错"),
    "pitfalls.intro": (
        "Each demonstration below runs a minimal *naive* variant — written for this app, the mistake as it is "
        "usually made when the chapter's code is typed in — and the fix, on the same input. The error shown is "
        "the one the code raised just now, caught and printed; the numbers are computed, not written down.",
        "下面每个演示都在同一输入上运行一个最小的“错误写法”（为本应用编写，重现照着教材敲代码时最常见的错误）"
        "和它的修正版本。显示的报错是代码刚刚真实抛出的异常，数字也都是现场算出来的，不是写死的。",
    ),
    "pitfalls.run": ("Run on this tab's input", "用本页当前的输入运行"),
    "pitfalls.size": ("…or try a square input of this size (px)", "……或试一个这样边长的正方形输入（像素）"),
    "pitfalls.on.default": ("Ran on the built-in example ({size}).", "运行在内置示例上（{size}）。"),
    "pitfalls.on.segment_scene": ("Ran on this tab's scene ({size}).", "运行在本页当前的场景上（{size}）。"),
    "pitfalls.on.segment_upload": ("Ran on your image ({size}).", "运行在你上传的图像上（{size}）。"),
    "pitfalls.on.losses": ("Ran on this tab's scene and its degraded prediction ({size}).",
                           "运行在本页当前的场景及其退化后的预测上（{size}）。"),
    "pitfalls.on.augment_scene": ("Ran on this tab's scene and its mask ({size}).",
                                  "运行在本页当前的场景及其掩码上（{size}）。"),
    "pitfalls.on.augment_upload": ("Ran on your image and mask ({size}).", "运行在你上传的图像和掩码上（{size}）。"),
    "pitfalls.on.miou_upload": ("Ran on your first pair of masks ({size}).", "运行在你上传的第一对掩码上（{size}）。"),
    "pitfalls.on.miou_model": ("Ran on this tab's model and scene ({size}).", "运行在本页当前的模型和场景上（{size}）。"),
    "pitfalls.on.train": ("Ran on scenes at this tab's image size ({size}).", "运行在本页所选图像尺寸的场景上（{size}）。"),
    "pitfalls.on.size": ("Ran on a square input of the chosen size ({size}).", "运行在所选边长的正方形输入上（{size}）。"),
    "pitfalls.deeplab_stride.picture_current": (
        "This tab's image: input · output stride 32 · 16 · 8",
        "本页当前图像：输入 · 输出步幅 32 · 16 · 8"),
    "pitfalls.label.what": ("What happens", "现象"),
    "pitfalls.label.why": ("Why", "原因"),
    "pitfalls.label.fix": ("Fix", "修正"),
    "pitfalls.naive_title": ("Naive code", "错误写法"),
    "pitfalls.fixed_title": ("Fixed", "修正后"),
    "pitfalls.raised": ("It raised:", "实际报错："),
    "pitfalls.table": ("Numbers", "数据"),
    "pitfalls.pictures": ("Pictures", "图示"),
    # ---- shared columns
    "pitfalls.col.stage": ("Stage", "阶段"),
    "pitfalls.col.match": ("Sizes match", "尺寸一致"),
    "pitfalls.col.branch": ("Branch", "分支"),
    "pitfalls.col.naive": ("Naive", "错误写法"),
    "pitfalls.col.fixed": ("Fixed", "修正后"),
    "pitfalls.col.fix": ("Fix", "修正方法"),
    "pitfalls.col.result": ("Result", "结果"),
    "pitfalls.col.prediction": ("Prediction", "预测"),
    "pitfalls.col.class": ("Class", "类别"),
    "pitfalls.col.transform": ("Transform", "变换"),
    # ---- 1. FCN-8s
    "pitfalls.fcn_skips.title": ("1 · FCN-8s: skip score maps that do not line up",
                                 "1 · FCN-8s：跳跃连接的得分图对不齐"),
    "pitfalls.fcn_skips.what": (
        "A literal port of FCN-8s adds the ×2-upsampled coarse scores to the scores of pool4, then of pool3. "
        "Without the paper's padding the two maps differ in size and the sum fails. With fc6 as a 7×7 "
        "convolution without padding, pool5's map shrinks by 6 cells (and below 224 px the 7×7 window does not "
        "fit at all); with fc6 padded by 3, PyTorch's round-down pooling still loses a row at odd sizes "
        "(500 → 250 → 125 → 62 → 31 → 15, and 2 × 15 = 30 ≠ 31). Move the slider: the table follows.",
        "照搬 FCN-8s 时，把 ×2 上采样后的粗得分图与 pool4、再与 pool3 的得分图相加。没有论文中的填充，"
        "两张图尺寸不同，相加直接报错。若 fc6 是不加填充的 7×7 卷积，pool5 的特征图会缩小 6 格"
        "（输入小于 224 像素时 7×7 的窗口根本放不下）；若给 fc6 填充 3，PyTorch 默认向下取整的池化在奇数尺寸处"
        "仍会丢掉一行（500 → 250 → 125 → 62 → 31 → 15，而 2 × 15 = 30 ≠ 31）。拖动滑块，表格随之变化。",
    ),
    "pitfalls.fcn_skips.why": (
        "Every 2×2 pooling halves the size and rounds; doubling does not undo the rounding. The paper pads the "
        "image by 100 pixels so that every map is larger than needed, and crops each finer score map at a fixed "
        "offset (5 for pool4, 9 for pool3, 31 for the output), which keeps the cells aligned with the pixels.",
        "每次 2×2 池化都会把尺寸减半并取整，上采样 ×2 无法还原被舍掉的部分。论文把输入图像四周填充 100 像素，"
        "使每一级特征图都比需要的大，再在固定偏移处（pool4 为 5，pool3 为 9，输出为 31）裁剪，"
        "保证每个格子与它对应的像素对齐。",
    ),
    "pitfalls.fcn_skips.fix": (
        "The paper's pad 100 + crop (third column), or align by interpolation: resize each upsampled map to its "
        "partner's size (fourth column). segdemo's FCN pads fc6 by 3, pools with round-up (as Caffe) and crops "
        "the upsampled map to the finer one (`models/layers.crop_to`).",
        "用论文的“填充 100 + 裁剪”（第三列），或用插值对齐：把每张上采样得分图插值到与之相加的那张图的尺寸（第四列）。"
        "segdemo 的 FCN 给 fc6 填充 3，池化向上取整（与 Caffe 相同），再把上采样结果裁剪到较精细那张图的尺寸"
        "（`models/layers.crop_to`）。",
    ),
    "pitfalls.fcn_skips.naive": (
        "On {size}: **fc6 without padding:** `{valid}` · **fc6 padded by 3:** `{same}`",
        "输入 {size}：**fc6 不填充：** `{valid}` · **fc6 填充 3：** `{same}`",
    ),
    "pitfalls.fcn_skips.fixed": (
        "Pad 100 + crop: output {paper}; interpolation: output {interp}, the size of the {size} image.",
        "填充 100 + 裁剪：输出 {paper}；插值对齐：输出 {interp}，与 {size} 的输入一致。",
    ),
    "pitfalls.fcn_skips.col.valid": ("fc6 7×7, no padding", "fc6 7×7，不填充"),
    "pitfalls.fcn_skips.col.same": ("fc6 padded by 3", "fc6 填充 3"),
    "pitfalls.fcn_skips.col.paper": ("Pad 100 + crop (paper)", "填充 100 + 裁剪（论文）"),
    "pitfalls.fcn_skips.col.interp": ("Interpolate to the skip", "插值对齐"),
    # ---- 2. U-Net
    "pitfalls.unet_sizes.title": ("2 · U-Net at a size that is not a multiple of 16",
                                  "2 · 输入尺寸不是 16 的倍数时的 U-Net"),
    "pitfalls.unet_sizes.what": (
        "U-Net pools four times and concatenates each upsampled map with the encoder map of the same level. At a "
        "side that is not a multiple of 16 a pooling rounds down (25 → 12), the ×2 transposed convolution gives 24, "
        "and `torch.cat` refuses 24 beside 25.",
        "U-Net 下采样四次，并把每一级上采样的结果与同一级编码器的特征图拼接。边长不是 16 的倍数时，"
        "某次池化会向下取整（25 → 12），×2 转置卷积得到 24，`torch.cat` 无法把 24 和 25 拼在一起。",
    ),
    "pitfalls.unet_sizes.why": (
        "Only sides divisible by 2⁴ = 16 survive four halvings without rounding.",
        "只有能被 2⁴ = 16 整除的边长，经过四次减半才不会发生取整。",
    ),
    "pitfalls.unet_sizes.fix": (
        "Pad the image to the next multiple of 16 and crop the output back, or interpolate each upsampled map to "
        "its skip's size. segdemo's U-Net pools with round-up and crops the upsampled map to the skip "
        "(`UNet._up`).",
        "把图像填充到下一个 16 的倍数，输出时再裁剪回原尺寸；或把每张上采样特征图插值到跳跃连接特征图的尺寸。"
        "segdemo 的 U-Net 池化向上取整，并把上采样结果裁剪到跳跃连接特征图的尺寸（`UNet._up`）。",
    ),
    "pitfalls.unet_sizes.naive": ("Input {size} (height, width mod 16 = {remainder}).",
                                  "输入 {size}（高、宽除以 16 的余数：{remainder}）。"),
    "pitfalls.unet_sizes.fixed": ("Padded to {padded} and cropped: output {pad}. Interpolated: output {interp}.",
                                  "填充到 {padded} 再裁剪：输出 {pad}。插值对齐：输出 {interp}。"),
    "pitfalls.unet_sizes.col.skip": ("Encoder (skip)", "编码器（跳跃连接）"),
    "pitfalls.unet_sizes.col.up": ("Upsampled (naive)", "上采样结果（错误写法）"),
    "pitfalls.unet_sizes.col.padded": ("Encoder after padding", "填充后的编码器"),
    # ---- 3. ASPP pooling
    "pitfalls.aspp_pooling.title": ("3 · ASPP: the image-pooling branch stays 1×1", "3 · ASPP：全局池化分支停留在 1×1"),
    "pitfalls.aspp_pooling.what": (
        "ASPP's image-pooling branch averages the whole feature map to 1×1, applies a 1×1 convolution, and must be "
        "stretched back to the feature map's size before it is concatenated with the four convolution branches. "
        "Upsampled to its *own* size (`size=pooled.shape[-2:]`) it stays 1×1 and the concatenation fails.",
        "ASPP 的全局池化分支把整张特征图平均成 1×1，经过 1×1 卷积后，必须先放大回特征图的尺寸，"
        "才能与四个卷积分支拼接。若按它*自己*的尺寸上采样（`size=pooled.shape[-2:]`），它仍是 1×1，拼接报错。",
    ),
    "pitfalls.aspp_pooling.why": (
        "`F.interpolate` to the size the tensor already has does nothing; the mistake is which tensor's size is read.",
        "把张量插值到它本来的尺寸什么也不会改变；错在读取了哪个张量的尺寸。",
    ),
    "pitfalls.aspp_pooling.fix": (
        "Take the size from the feature map that entered ASPP, or `expand` the 1×1 map to it, as segdemo's "
        "`ASPPPooling` does.",
        "尺寸要取自进入 ASPP 的那张特征图；或像 segdemo 的 `ASPPPooling` 那样，用 `expand` 把 1×1 的结果铺满。",
    ),
    "pitfalls.aspp_pooling.naive": ("Feature map {feature} (1/8 of the image): the pooling branch stays 1×1.",
                                    "特征图 {feature}（图像的 1/8）：池化分支仍是 1×1。"),
    "pitfalls.aspp_pooling.fixed": ("All five branches at the feature map's size; concatenated: {out} "
                                    "(channels × height × width).",
                                    "五个分支尺寸一致，拼接后为 {out}（通道 × 高 × 宽）。"),
    # ---- 4. DeepLabV3
    "pitfalls.deeplab_stride.title": ("4 · DeepLabV3: the skipped stem and the missing dilation",
                                      "4 · DeepLabV3：跳过的主干起始层与缺失的空洞卷积"),
    "pitfalls.deeplab_stride.what": (
        "Two mistakes of a hand-written DeepLabV3. (a) A forward that sends the image straight into the first "
        "residual stage, skipping the stem (7×7 convolution, BN, ReLU, max-pool): the stage expects the stem's "
        "channels and crashes on a 3-channel image. (b) A backbone described as dilated that keeps every stride: "
        "output stride 32 instead of 8. The table runs the shipped DeepLabV3 weights at output stride 32, 16 "
        "and 8 on the validation scenes.",
        "手写 DeepLabV3 时的两个错误。(a) forward 把图像直接送进第一个残差阶段，跳过了主干的起始层"
        "（7×7 卷积、BN、ReLU、最大池化）：残差阶段期望起始层输出的通道数，遇到 3 通道图像就报错。"
        "(b) 号称使用了空洞卷积，主干却保留了所有步幅：输出步幅是 32 而不是 8。表格用内置的 DeepLabV3 权重，"
        "分别以输出步幅 32、16、8 在验证场景上运行。",
    ),
    "pitfalls.deeplab_stride.why": (
        "At output stride 32 a 96 px scene becomes a 3×3 feature map; each cell stands for 32×32 pixels, so thin "
        "parts (the ring, the arms of the cross) and boundaries are gone before the head sees them. Dilated "
        "(atrous) convolutions keep the map at 1/8 while each filter's receptive field stays as large. (The same "
        "weights, trained at stride 8, run at every stride: a network trained at stride 32 would adapt, but a 3×3 "
        "map still cannot draw a ring.)",
        "输出步幅为 32 时，96 像素的场景只剩 3×3 的特征图，每个格子代表 32×32 个像素，细的部分（圆环、"
        "十字的臂）和边界在进入分割头之前就已经丢失。空洞卷积让特征图保持在原图的 1/8，而每个卷积核的感受野不缩小。"
        "（这里各个步幅用的是同一份按步幅 8 训练的权重；按步幅 32 训练的网络会有所适应，但 3×3 的特征图仍然画不出圆环。）",
    ),
    "pitfalls.deeplab_stride.fix": (
        "Run the stem first; replace the strides of the last stages by dilation (`replace_stride_with_dilation` in "
        "torchvision, `output_stride=8` in segdemo's `DilatedResNet`).",
        "先运行主干起始层；把最后几个阶段的步幅换成空洞卷积（torchvision 的 `replace_stride_with_dilation`，"
        "segdemo 的 `DilatedResNet(output_stride=8)`）。",
    ),
    "pitfalls.deeplab_stride.naive": (
        "(a) the stem skipped: see the error. (b) at output stride 32: mIoU {miou}, accuracy near boundaries {boundary}.",
        "(a) 跳过起始层：见上面的报错。(b) 输出步幅 32：mIoU {miou}，边界附近的像素准确率 {boundary}。",
    ),
    "pitfalls.deeplab_stride.fixed": (
        "At output stride 8: mIoU {miou}, accuracy near boundaries {boundary} ({scenes} validation scenes of {size} px).",
        "输出步幅 8：mIoU {miou}，边界附近的像素准确率 {boundary}（{scenes} 个 {size} 像素的验证场景）。",
    ),
    "pitfalls.deeplab_stride.col.stride": ("Output stride", "输出步幅"),
    "pitfalls.deeplab_stride.col.feature": ("Feature map at 96 px", "96 像素输入的特征图"),
    "pitfalls.deeplab_stride.col.boundary": ("Accuracy within 2 px of a boundary", "边界 2 像素内的像素准确率"),
    "pitfalls.deeplab_stride.col.ring": ("IoU ring", "圆环 IoU"),
    "pitfalls.deeplab_stride.col.cross": ("IoU cross", "十字 IoU"),
    "pitfalls.deeplab_stride.picture": ("Image · ground truth · output stride 32 · 16 · 8",
                                        "图像 · 真值 · 输出步幅 32 · 16 · 8"),
    # ---- 5. BatchNorm, batch 1
    "pitfalls.batchnorm_batch1.title": ("5 · BatchNorm in ASPP's pooling branch with batch size 1",
                                        "5 · 批大小为 1 时 ASPP 池化分支中的批归一化"),
    "pitfalls.batchnorm_batch1.what": (
        "In train mode BatchNorm estimates each channel's mean and variance from the batch. ASPP's pooling branch "
        "has one value per channel per image (1×1); with one image there is a single value, its variance is "
        "undefined, and PyTorch raises.",
        "训练模式下，批归一化用当前批次估计每个通道的均值和方差。ASPP 的池化分支每张图每个通道只有一个值（1×1）；"
        "批里只有一张图时只剩一个值，方差无从计算，PyTorch 直接报错。",
    ),
    "pitfalls.batchnorm_batch1.why": (
        "Other layers see H×W values per channel even in a batch of one, so they run (on a poor estimate); only the "
        "1×1 branch crashes — often at the end of an epoch, when the last batch holds a single image.",
        "其他层即使批大小为 1，每个通道也有 H×W 个值，所以能运行（只是估计很差）；只有 1×1 的分支会崩溃，"
        "而且常常发生在一个 epoch 的末尾：最后一个批次恰好只剩一张图。",
    ),
    "pitfalls.batchnorm_batch1.fix": (
        "Evaluate in `model.eval()`; train with batches of 2 or more (`drop_last=True` in the DataLoader); use "
        "GroupNorm; or, like segdemo's `PoolingBatchNorm2d`, use the running statistics when there is one value.",
        "推理时用 `model.eval()`；训练时保证批大小至少为 2（DataLoader 设 `drop_last=True`）；改用组归一化（GroupNorm）；"
        "或像 segdemo 的 `PoolingBatchNorm2d` 那样，只有一个值时改用滑动平均统计量。",
    ),
    "pitfalls.batchnorm_batch1.naive": ("The pooling branch in train mode, one image of 8 channels.",
                                        "训练模式下的池化分支，输入一张 8 通道的特征图。"),
    "pitfalls.batchnorm_batch1.fixed": ("{ok} of 4 fixes run.", "4 种修正中有 {ok} 种正常运行。"),
    "pitfalls.batchnorm_batch1.fix.eval": ("model.eval()", "model.eval()"),
    "pitfalls.batchnorm_batch1.fix.batch2": ("Batch of 2 images", "批大小为 2"),
    "pitfalls.batchnorm_batch1.fix.groupnorm": ("GroupNorm(2, 8)", "GroupNorm(2, 8)"),
    "pitfalls.batchnorm_batch1.fix.pooling_bn": ("segdemo's PoolingBatchNorm2d", "segdemo 的 PoolingBatchNorm2d"),
    # ---- 6. binary Dice
    "pitfalls.binary_dice.title": ("6 · A binary Dice inside a K-class CE + Dice", "6 · 在 K 类 CE + Dice 中误用二分类 Dice"),
    "pitfalls.binary_dice.what": (
        "A Dice loss written for one foreground channel (sigmoid, multiply by the mask, sum) used inside a K-class "
        "CE + Dice. With a batch of 2 the broadcast of the (N, H, W) mask against the (N, K, H, W) logits fails; "
        "with a batch of 1 it runs and returns a number that does not depend on the prediction at all.",
        "为单个前景通道编写的 Dice 损失（sigmoid、乘以掩码、求和）被放进 K 类的 CE + Dice 中。批大小为 2 时，"
        "(N, H, W) 的掩码与 (N, K, H, W) 的 logits 无法广播，直接报错；批大小为 1 时能运行，"
        "但算出的数值与预测结果完全无关。",
    ),
    "pitfalls.binary_dice.why": (
        "The sigmoids of all K channels are summed, and the class ids 0…K−1 are used as if they were 0/1 targets. "
        "At batch 1 the mask broadcasts over the K channels, so each pixel contributes its class id times the sum "
        "of all K sigmoids — the same whichever class the model picks.",
        "K 个通道的 sigmoid 被全部加在一起，类别编号 0…K−1 被当成了 0/1 标签。批大小为 1 时，掩码沿 K 个通道广播，"
        "每个像素贡献的是“类别编号 × 所有 K 个 sigmoid 之和”：无论模型预测哪一类，结果都一样。",
    ),
    "pitfalls.binary_dice.fix": (
        "The multi-class soft Dice: softmax over the classes, one-hot target, one Dice per class, averaged over the "
        "classes present (`segdemo.losses.dice_loss`).",
        "使用多类别软 Dice：对类别维做 softmax，标签转为独热编码，逐类计算 Dice，再对出现的类别取平均"
        "（`segdemo.losses.dice_loss`）。",
    ),
    "pitfalls.binary_dice.naive": (
        "Naive Dice: {perfect} for a perfect prediction and {poor} for a poor one.",
        "错误写法的 Dice：完美预测为 {perfect}，很差的预测为 {poor}。",
    ),
    "pitfalls.binary_dice.fixed": (
        "Softmax Dice: {perfect} for the perfect prediction (at 90 % confidence), {poor} for the poor one.",
        "softmax Dice：完美预测（置信度 90%）为 {perfect}，很差的预测为 {poor}。",
    ),
    "pitfalls.binary_dice.perfect": ("perfect (90 % confidence)", "完美预测（置信度 90%）"),
    "pitfalls.binary_dice.poor": ("poor (one object dropped, shifted)", "很差（漏掉一个物体并整体平移）"),
    "pitfalls.binary_dice.col.naive": ("Naive sigmoid Dice", "错误的 sigmoid Dice"),
    "pitfalls.binary_dice.col.fixed": ("Softmax Dice", "多类别 softmax Dice"),
    "pitfalls.binary_dice.col.naive_total": ("CE + naive Dice", "CE + 错误 Dice"),
    "pitfalls.binary_dice.col.fixed_total": ("CE + softmax Dice", "CE + 多类别 softmax Dice"),
    # ---- 7. CE and 255
    "pitfalls.ce_ignore.title": ("7 · Cross-entropy on masks with 255 borders", "7 · 掩码边界为 255 时的交叉熵"),
    "pitfalls.ce_ignore.what": (
        "VOC-style masks mark object outlines and unlabelled regions with 255. `F.cross_entropy(logits, target)` "
        "without `ignore_index` reads 255 as a class number and stops: there are only K classes.",
        "VOC 风格的掩码用 255 标记物体轮廓和未标注区域。不设 `ignore_index` 时，`F.cross_entropy(logits, target)` "
        "把 255 当作类别编号，而类别只有 K 个，于是报错。",
    ),
    "pitfalls.ce_ignore.why": (
        "PyTorch's default `ignore_index` is −100, not 255. (On a GPU the same mistake is a device-side assert, "
        "much harder to read.)",
        "PyTorch 中 `ignore_index` 的默认值是 −100，而不是 255。（在 GPU 上同样的错误表现为 device-side assert，更难看懂。）",
    ),
    "pitfalls.ce_ignore.fix": (
        "`F.cross_entropy(logits, target, ignore_index=255)`: the 255 pixels contribute nothing and the mean is "
        "taken over the counted pixels.",
        "`F.cross_entropy(logits, target, ignore_index=255)`：值为 255 的像素不参与计算，只对计入的像素求平均。",
    ),
    "pitfalls.ce_ignore.naive": ("{ignored} pixels ({share} %) carry the ignore label 255 (grey in the picture).",
                                 "有 {ignored} 个像素（{share}%）是忽略标签 255（图中灰色）。"),
    "pitfalls.ce_ignore.fixed": ("With `ignore_index=255`: loss {loss} over the {counted} counted pixels.",
                                 "设置 `ignore_index=255` 后：对计入的 {counted} 个像素，损失为 {loss}。"),
    "pitfalls.ce_ignore.picture": ("The mask: grey = 255", "掩码：灰色 = 255"),
    # ---- 8. mask resizing
    "pitfalls.mask_resize.title": ("8 · Masks resized bilinearly, or read as RGB / 255",
                                   "8 · 用双线性插值缩放掩码，或按 RGB 读入再除以 255"),
    "pitfalls.mask_resize.what": (
        "A mask is a map of class numbers, not a picture. Resized bilinearly, a boundary between, say, class 1 and "
        "class 5 gets 2, 3 and 4 — classes that are not there — and the border between an object and 255 gets "
        "every value in between. Read as RGB and divided by 255, the class numbers are gone altogether: what is "
        "left are the palette's colours as fractions.",
        "掩码是类别编号图，不是照片。用双线性插值缩放后，例如类别 1 与类别 5 的交界处会出现 2、3、4 这些根本不存在的类别，"
        "物体与 255 之间的边界更会出现介于两者之间的任意值。按 RGB 读入再除以 255，类别编号则完全丢失，"
        "剩下的只是调色板颜色的小数值。",
    ),
    "pitfalls.mask_resize.why": (
        "Interpolation averages neighbours: right for colours, wrong for labels. A palette (\"P\" mode) PNG "
        "stores class numbers; `convert(\"RGB\")` replaces them by their display colours.",
        "插值就是对邻近像素取平均：对颜色正确，对标签错误。调色板模式（\"P\"）的 PNG 存的是类别编号，"
        "`convert(\"RGB\")` 会把它们换成显示用的颜色。",
    ),
    "pitfalls.mask_resize.fix": (
        "Resize masks with nearest-neighbour interpolation (`Image.NEAREST`, `cv2.INTER_NEAREST`; albumentations "
        "does this for masks), and read index PNGs without converting them (`np.array(Image.open(path))`).",
        "缩放掩码要用最近邻插值（`Image.NEAREST`、`cv2.INTER_NEAREST`；albumentations 对掩码默认如此）；"
        "读取索引 PNG 时不要转换模式（`np.array(Image.open(path))`）。",
    ),
    "pitfalls.mask_resize.naive": (
        "Bilinear: {invalid} values that are not in the original mask, on {invalid_px} pixels (magenta). Read as "
        "RGB / 255, the red channel holds {rgb_values}; cast to integers, every pixel becomes class {rgb_classes}.",
        "双线性插值：出现 {invalid} 个原掩码中没有的值，共 {invalid_px} 个像素（品红色）。按 RGB 读入再除以 255，"
        "红色通道的值为 {rgb_values}；转成整数后，所有像素都变成了类别 {rgb_classes}。",
    ),
    "pitfalls.mask_resize.fixed": ("Nearest: {invalid} new values. Read as an index PNG: classes {classes} "
                                   "(255 = ignore label).",
                                   "最近邻插值：新增值 {invalid} 个。按索引 PNG 读取：类别为 {classes}（255 为忽略标签）。"),
    "pitfalls.mask_resize.col.value": ("Mask value", "掩码值"),
    "pitfalls.mask_resize.col.original": ("Original {size} (pixels)", "原图 {size}（像素数）"),
    "pitfalls.mask_resize.col.bilinear": ("Bilinear {size}", "双线性 {size}"),
    "pitfalls.mask_resize.col.nearest": ("Nearest {size}", "最近邻 {size}"),
    "pitfalls.mask_resize.other": ("values not in the original", "原掩码中没有的值"),
    "pitfalls.mask_resize.pic.original": ("Original mask (grey = 255)", "原掩码（灰色 = 255）"),
    "pitfalls.mask_resize.pic.bilinear": ("Bilinear (magenta: values not in the original)", "双线性（品红：原掩码中没有的值）"),
    "pitfalls.mask_resize.pic.nearest": ("Nearest neighbour", "最近邻"),
    # ---- 9. mIoU
    "pitfalls.miou_ignore.title": ("9 · An mIoU that counts ignored pixels and absent classes",
                                   "9 · 把忽略像素和不存在的类别也算进去的 mIoU"),
    "pitfalls.miou_ignore.what": (
        "A hand-written mIoU loops over all K classes, counts every pixel and divides with a small epsilon. Two "
        "errors: the pixels labelled 255 enter the union of whatever class the model predicted there, and classes "
        "absent from both masks get IoU 0/ε = 0 and are averaged in.",
        "手写的 mIoU 遍历全部 K 个类别、统计所有像素、分母加一个很小的 ε。这里有两个错误：标为 255 的像素被算进了"
        "模型在该处预测的类别的并集；两张掩码中都不存在的类别得到 IoU = 0/ε = 0，也被计入平均。",
    ),
    "pitfalls.miou_ignore.why": (
        "IoU is undefined for a class that is in neither mask; counting it as 0 punishes the model for something it "
        "got right. Ignored pixels have no true class, so they cannot be a mistake.",
        "对两张掩码中都没有的类别，IoU 没有定义；把它记为 0，等于惩罚模型做对了的事情。被忽略的像素没有真实类别，"
        "谈不上预测错误。",
    ),
    "pitfalls.miou_ignore.fix": (
        "Drop the ignored pixels before counting, accumulate one confusion matrix, and average the IoU over the "
        "classes whose union is not empty (`segdemo.metrics`: `confusion_matrix` → `metrics_from_confusion`).",
        "统计前先去掉忽略像素，累积一个混淆矩阵，只对并集非空的类别求 IoU 的平均（`segdemo.metrics`：`confusion_matrix` → "
        "`metrics_from_confusion`）。",
    ),
    "pitfalls.miou_ignore.naive": (
        "Naive mIoU {miou}: classes {absent} are in neither mask and count as 0; the {ignored} ignored pixels count "
        "as predictions.",
        "错误写法的 mIoU 为 {miou}：类别 {absent} 在两张掩码中都不存在，却按 0 计入；{ignored} 个忽略像素被当成了预测。",
    ),
    "pitfalls.miou_ignore.fixed": ("mIoU {miou} over the {present} classes present.",
                                   "对出现的 {present} 个类别求平均：mIoU 为 {miou}。"),
    "pitfalls.miou_ignore.col.naive": ("Naive IoU", "错误写法的 IoU"),
    "pitfalls.miou_ignore.col.fixed": ("IoU (segdemo.metrics)", "IoU（segdemo.metrics）"),
    "pitfalls.miou_ignore.col.ignored": ("Ignored pixels counted for the class", "被算作该类的忽略像素"),
    "pitfalls.miou_ignore.pic.truth": ("Ground truth (grey = 255)", "真值（灰色 = 255）"),
    "pitfalls.miou_ignore.pic.pred": ("Prediction", "预测"),
    "pitfalls.miou_ignore.pic.diff": ("The difference: ignored pixels the naive mIoU counts (amber)",
                                      "差别所在：错误写法计入的忽略像素（琥珀色）"),
    # ---- 10. albumentations 2.x
    "pitfalls.albumentations_args.title": ("10 · albumentations 2.x: old arguments, non-square images",
                                           "10 · albumentations 2.x：旧参数与非正方形图像"),
    "pitfalls.albumentations_args.what": (
        "Code written for albumentations 1.x pads and rotates with `value=0, mask_value=255`. Version 2 renamed them "
        "`fill` and `fill_mask`; the old names only raise a warning, the transform runs, and the mask's new border "
        "becomes 0 — background — instead of 255. `ShiftScaleRotate` is now a special case of `Affine` with the "
        "same problem. `Transpose` and `RandomRotate90` swap height and width: on a non-square image the batch can "
        "no longer be stacked.",
        "为 albumentations 1.x 写的代码用 `value=0, mask_value=255` 做填充和旋转。2.x 版本把它们改名为 `fill` 和 "
        "`fill_mask`；旧参数只会触发一条警告，变换照常执行，掩码新增的边框被填成 0（背景），而不是 255。"
        "`ShiftScaleRotate` 现在只是 `Affine` 的特例，问题相同。`Transpose` 和 `RandomRotate90` 会交换高和宽："
        "非正方形图像变换后无法再堆叠成一个批次。",
    ),
    "pitfalls.albumentations_args.why": (
        "A warning among hundreds of lines of training output goes unseen; the model then learns that image borders "
        "are background.",
        "训练时满屏输出中的一条警告很容易被忽略；模型于是学到“图像边框是背景”。",
    ),
    "pitfalls.albumentations_args.fix": (
        "`fill=0, fill_mask=255`, and `Affine` instead of `ShiftScaleRotate`; use `Transpose`/`RandomRotate90` only "
        "after a square crop or resize.",
        "改用 `fill=0, fill_mask=255`，并用 `Affine` 代替 `ShiftScaleRotate`；只在裁剪或缩放成正方形之后再使用 "
        "`Transpose`/`RandomRotate90`。",
    ),
    "pitfalls.albumentations_args.naive": (
        "albumentations {version}: `PadIfNeeded(value=0, mask_value=255)` filled {border_zero} border pixels with "
        "class 0, with only a warning. `ShiftScaleRotate`: `{ssr_warning}`. A transposed 64×96 image beside an "
        "unchanged one: `{stack}`.",
        "albumentations {version}：`PadIfNeeded(value=0, mask_value=255)` 把 {border_zero} 个边框像素填成了类别 0，"
        "只给出一条警告。`ShiftScaleRotate`：`{ssr_warning}`。转置后的 64×96 图像与未变换的图像放在同一批次：`{stack}`。",
    ),
    "pitfalls.albumentations_args.fixed": (
        "`fill_mask=255`: {border_ignored} border pixels carry the ignore label after padding, {affine_ignored} "
        "after `Affine`.",
        "使用 `fill_mask=255`：填充后 {border_ignored} 个边框像素为忽略标签，`Affine` 之后为 {affine_ignored} 个。",
    ),
    "pitfalls.albumentations_args.col.zero": ("Border pixels of class 0 (or: size)", "类别为 0 的边框像素（或：尺寸）"),
    "pitfalls.albumentations_args.col.ignore": ("Pixels of 255 (or: stacking a batch)", "值为 255 的像素（或：堆叠批次）"),
    "pitfalls.albumentations_args.pic.naive_pad": ("PadIfNeeded(mask_value=255): border = background",
                                                   "PadIfNeeded(mask_value=255)：边框成了背景"),
    "pitfalls.albumentations_args.pic.fixed_pad": ("PadIfNeeded(fill_mask=255): border = 255 (grey)",
                                                   "PadIfNeeded(fill_mask=255)：边框为 255（灰色）"),
    "pitfalls.albumentations_args.pic.naive_ssr": ("ShiftScaleRotate(mask_value=255)", "ShiftScaleRotate(mask_value=255)"),
    "pitfalls.albumentations_args.pic.fixed_affine": ("Affine(fill_mask=255)", "Affine(fill_mask=255)"),
    # ---- 11. dataset pairing
    "pitfalls.dataset_pairing.title": ("11 · Pairing images and masks by position", "11 · 按排序位置配对图像与掩码"),
    "pitfalls.dataset_pairing.what": (
        "A dataset pairs `sorted(os.listdir(images))[i]` with `sorted(os.listdir(masks))[i]`. One mask is missing: "
        "every later image gets the next image's mask, and `zip` silently drops the last image. The other shortcut, "
        "taking the image's file name in the mask folder, fails when images are .jpg and masks .png.",
        "数据集把 `sorted(os.listdir(images))[i]` 与 `sorted(os.listdir(masks))[i]` 配成一对。只要缺一张掩码，"
        "其后的每张图像都会配上下一张图像的掩码，而 `zip` 还会悄悄丢掉最后一张图像。另一种捷径是在掩码文件夹中"
        "直接使用图像的文件名，图像是 .jpg、掩码是 .png 时就会找不到文件。",
    ),
    "pitfalls.dataset_pairing.why": (
        "A position in a listing is not an identity: nothing checks that the two files belong together, and a model "
        "trained on shifted pairs learns noise without any error message.",
        "文件在列表中的位置并不代表身份：没有任何检查保证两者属于同一样本。用错位的样本对训练，模型学到的是噪声，"
        "而且不会有任何报错。",
    ),
    "pitfalls.dataset_pairing.fix": (
        "Pair by the file name without its extension, and refuse a file without a partner by name "
        "(`segdemo.data.SegmentationFolder`).",
        "按去掉扩展名的文件名配对，遇到没有对应文件的样本就点名报错（`segdemo.data.SegmentationFolder`）。",
    ),
    "pitfalls.dataset_pairing.naive": ("By position: {wrong} of {pairs} pairs are wrong, and {images} images became "
                                       "{pairs} samples.",
                                       "按位置配对：{pairs} 对中有 {wrong} 对是错的，{images} 张图像只剩 {pairs} 个样本。"),
    "pitfalls.dataset_pairing.fixed": ("By name: `{message}` With the mask back: {pairs} correct pairs.",
                                       "按文件名配对：`{message}` 补回掩码后：{pairs} 对全部正确。"),
    "pitfalls.dataset_pairing.col.image": ("Image", "图像"),
    "pitfalls.dataset_pairing.col.naive": ("Mask by position", "按位置配对的掩码"),
    "pitfalls.dataset_pairing.col.fixed": ("Mask by name", "按文件名配对的掩码"),
    "pitfalls.dataset_pairing.pic.naive": ("A sample paired by position: someone else's mask", "按位置配对的样本：用了别人的掩码"),
    "pitfalls.dataset_pairing.pic.fixed": ("The same image with its own mask", "同一张图像配上自己的掩码"),
}


def _labelled() -> None:
    """Each pitfall's what/why/fix starts with its bold label, so that one Markdown shows each."""
    labels = {part: STRINGS[f"pitfalls.label.{part}"] for part in ("what", "why", "fix")}
    for key, (en, zh) in list(STRINGS.items()):
        part = key.rsplit(".", 1)[-1]
        if key.count(".") == 2 and part in labels and not key.startswith(("pitfalls.label.", "pitfalls.col.")):
            STRINGS[key] = (f"**{labels[part][0]}.** {en}", f"**{labels[part][1]}**：{zh}")


_labelled()
