"""Strings of the Overview tab."""

STRINGS: dict[str, tuple[str, str]] = {
    "overview.what": (
        """
## What is semantic segmentation?

An image is a tensor **I ∈ ℝ^(H×W×C)**: H rows, W columns and C channels (C = 3 for RGB).
Semantic segmentation assigns **one class label to every pixel**: it maps I to a label map
**S ∈ {0, 1, …, K−1}^(H×W)**, where K is the number of classes. A network does this by predicting
K scores (logits) per pixel, a tensor of shape **(K, H, W)**, and taking the arg-max over the K scores.

It is *dense* prediction: the output has the same height and width as the input, so the network must
know **what** is in the image (semantics, which needs a large receptive field) and **where** exactly
it is (localisation, which needs fine detail). Every architecture in this lab is a different answer to
that tension.
""",
        """
## 什么是语义分割？

一幅图像是一个张量 **I ∈ ℝ^(H×W×C)**：H 行、W 列、C 个通道（RGB 图像 C = 3）。
语义分割就是给**每个像素分配一个类别标签**，即把 I 映射为标签图
**S ∈ {0, 1, …, K−1}^(H×W)**，K 为类别数。网络对每个像素输出 K 个得分（logits），
合起来是形状为 **(K, H, W)** 的张量，再沿类别维取 arg-max 得到标签。

语义分割属于*密集*预测：输出与输入同高同宽。网络既要认出图中**是什么**（语义，需要足够大的感受野），
又要找准它**在哪里**（定位，需要保留细节）。本实验室的每种网络结构，都是在这两者之间取舍的一种方案。
""",
    ),
    "overview.tasks": (
        """
## How it differs from the other vision tasks

| Task | Output | Question it answers |
|---|---|---|
| Image classification | one label for the whole image | *What is in this image?* |
| Object detection | a box + label per object | *What is where, roughly?* |
| **Semantic segmentation** | a class per pixel | *Which class does each pixel belong to?* Two touching cars are one "car" region. |
| Instance segmentation | a mask + id per object ("thing") | *Which object does each pixel belong to?* Two cars are two masks; background "stuff" is ignored. |
| Panoptic segmentation | a class per pixel **and** an id per thing | Semantic + instance: every pixel gets a class, every countable object its own id. |
""",
        """
## 与其他视觉任务的区别

| 任务 | 输出 | 回答的问题 |
|---|---|---|
| 图像分类 | 整幅图一个标签 | *图中有什么？* |
| 目标检测 | 每个物体一个框和标签 | *大致在哪里有什么？* |
| **语义分割** | 每个像素一个类别 | *每个像素属于哪一类？* 相互接触的两辆车是同一个"车"区域。 |
| 实例分割 | 每个物体（"thing"）一个掩码和编号 | *每个像素属于哪个物体？* 两辆车是两个掩码；背景类（"stuff"）被忽略。 |
| 全景分割 | 每个像素一个类别，**并且**每个物体一个编号 | 语义 + 实例：每个像素都有类别，每个可数物体都有自己的编号。 |
""",
    ),
    "overview.uses": (
        """
## Where it is used

- **Medical imaging**: tumours, organs and lesions outlined in MRI, CT and microscopy (U-Net was born here).
- **Autonomous driving**: road, lane, pedestrian, car and sky for every pixel of the camera image, in real time.
- **Remote sensing**: buildings, fields, water and forest in satellite and aerial images.
- **Agriculture**: crops vs. weeds for precision spraying, fruit counting, plant disease.
- **Robotics**: where to grasp, where to drive, what is floor and what is obstacle.
- **Fashion and photo editing**: clothing parsing, portrait matting, background replacement.
- **Video**: segmentation per frame for editing, surveillance and augmented reality.
""",
        """
## 应用场景

- **医学影像**：在 MRI、CT 和显微图像中勾画肿瘤、器官和病灶（U-Net 即诞生于此）。
- **自动驾驶**：实时为摄像头图像的每个像素标出道路、车道、行人、车辆和天空。
- **遥感**：在卫星和航拍图像中识别建筑、农田、水体和森林。
- **农业**：区分作物与杂草以精准喷药、果实计数、植物病害检测。
- **机器人**：哪里可以抓取、哪里可以行驶、哪里是地面、哪里是障碍物。
- **时尚与图像编辑**：服装解析、人像抠图、背景替换。
- **视频**：逐帧分割，用于剪辑、监控和增强现实。
""",
    ),
    "overview.map": (
        """
## Which tab teaches what

| Tab | Idea you can touch |
|---|---|
| **Overview** | the five tasks on one scene; the timeline of architectures |
| **Segment** | FCN, U-Net, DeepLab/ASPP, SegFormer and real-time nets on your own image; side-by-side comparison, confidence and errors |
| **Augment** | how image and mask must move *together*; the training pipeline, transform by transform |
| **Losses** | cross-entropy, Focal, Dice, Lovász and Tversky: curves, class imbalance, real masks |
| **mIoU** | confusion matrix, IoU, Dice, pixel accuracy, fwIoU, data-set vs. per-image averages |
| **Train** | the training loop live in your browser: loss and mIoU curves, compare runs |
""",
        """
## 各标签页讲什么

| 标签页 | 可以动手体验的知识点 |
|---|---|
| **概览** | 同一场景上的五种任务；网络结构发展时间线 |
| **分割** | 在你自己的图像上运行 FCN、U-Net、DeepLab/ASPP、SegFormer 和实时网络；并排比较、置信度与错误 |
| **数据增强** | 图像和掩码为什么必须*一起*变换；逐个变换地理解训练流水线 |
| **损失函数** | 交叉熵、Focal、Dice、Lovász 和 Tversky：曲线、类别不平衡、真实掩码 |
| **mIoU 指标** | 混淆矩阵、IoU、Dice、像素准确率、fwIoU，数据集级与逐图平均 |
| **训练** | 在浏览器中实时观看训练循环：损失和 mIoU 曲线，比较多次训练 |
""",
    ),
    "overview.five_title": (
        "### One scene, five tasks\nThe same synthetic scene as each task sees it. Classification gives one "
        "label for the image; detection a box per object; **semantic segmentation** a class per pixel (two "
        "touching objects of one class merge); instance segmentation an id per object; panoptic both: every "
        "pixel gets a class, and countable *things* also get an id while *stuff* (the background) does not.",
        "### 一个场景，五种任务\n同一张合成场景在不同任务眼中的样子。分类给整张图一个标签；检测给每个物体一个框；"
        "**语义分割**给每个像素一个类别（相接触的同类物体会合并）；实例分割给每个物体一个编号；全景分割两者兼有："
        "每个像素都有类别，可数的 *物体（things）* 还有编号，而 *背景类（stuff）* 没有。",
    ),
    "overview.scene": ("Scene", "场景"),
    "overview.another": ("Another scene", "换一个场景"),
    "overview.bad_scene": ("Choose a scene between 0 and {last}.", "请选择 0 到 {last} 之间的场景。"),
    "overview.view.classification": ("classification: “{label}”", "分类：“{label}”"),
    "overview.view.detection": ("detection: {n} boxes", "检测：{n} 个框"),
    # Captions are one line under a ~200 px picture: the paragraph above the pictures explains them.
    "overview.view.semantic": ("semantic segmentation", "语义分割"),
    "overview.view.instance": ("instance: {n} objects", "实例分割：{n} 个物体"),
    "overview.view.panoptic": ("panoptic segmentation", "全景分割"),
    "overview.five_summary": ("Scene {index}: mostly **{label}**, {n} visible objects.",
                              "场景 {index}：以**{label}**为主，{n} 个可见物体。"),
    "overview.tl.title": (
        "### A timeline of the architectures\nEvery network of this lab's zoo by year. The dots show the validation "
        "mIoU of its shipped checkpoint (small variant, trained on synthetic scenes on a CPU for ten minutes to "
        "under three hours each, by the recipe in its card, so the ranking "
        "says more about how fast an architecture learns on a CPU than about its paper score). Press **Open in "
        "Segment** to try one.",
        "### 网络结构时间线\n本实验室模型库中的每个网络按年份排列。圆点表示其内置检查点的验证集 mIoU（小型变体，"
        "在 CPU 上用合成场景训练，每个模型训练时间从十分钟到不足三小时不等，配方记录在各自的卡片中；因此排名更多反映在 CPU 上学得多快，"
        "而非论文中的成绩）。点击**在“分割”中打开**"
        "即可试用。",
    ),
    "overview.tl.open": ("Open in Segment →", "在“分割”中打开 →"),
    "overview.tl.measure": ("Measure latency on this server", "在本服务器上测量延迟"),
    "overview.tl.note": (
        "Latency: one forward pass of the small variant on a 256×256 image, batch 1, on this machine's CPU "
        "(measured once, a few seconds).",
        "延迟：小型变体在 256×256 图像上前向一次（批大小 1），在本机 CPU 上测量（只测一次，需几秒钟）。",
    ),
    "overview.tl.card": (
        "**{year} · {name}**  \n*{family}* · [{paper}]({url})\n\n{idea}\n\n"
        "`{params} M params` · {latency} · {miou}",
        "**{year} · {name}**  \n*{family}* · [{paper}]({url})\n\n{idea}\n\n"
        "`参数 {params} M` · {latency} · {miou}",
    ),
    "overview.tl.latency": ("`{ms} ms at {size}²`", "`{size}² 上 {ms} 毫秒`"),
    "overview.tl.not_measured": ("latency not measured yet", "延迟尚未测量"),
    "overview.tl.miou": ("**val mIoU {miou}**", "**验证 mIoU {miou}**"),
    "overview.tl.untrained": ("not trained yet", "尚未训练"),
    "overview.tl.year": ("year", "年份"),
    "overview.tl.axis_miou": ("val mIoU (synthetic scenes)", "验证集 mIoU（合成场景）"),
}
