"""Strings of the Lesson tab: a 45-minute teacher's script, one step per tab."""

STRINGS: dict[str, tuple[str, str]] = {
    "lesson.intro": (
        "## A 45-minute lesson\nOne step per tab, in order. Each step says what to click, what to ask and what "
        "the class should notice; its link opens the tab ready (scene, model, preset). Project the page at "
        "1280×720; students can follow on their phones.",
        "## 一节 45 分钟的课\n每个标签页一步，按顺序进行。每一步写明点什么、问什么、全班应该注意到什么；"
        "点击链接即可打开已设置好（场景、模型、预设）的标签页。用 1280×720 投影，学生可以用手机跟着操作。",
    ),
    "lesson.open": ("Open this step", "打开这一步"),
    "lesson.step.overview": (
        "### 1. Overview (5 min)\n**Click** *Another scene* twice. **Ask:** what is the difference between the "
        "semantic and the instance panel? **Notice:** two touching squares are one region for semantic "
        "segmentation, two objects for instance segmentation.",
        "### 1. 概览（5 分钟）\n**点击**“换一个场景”两次。**提问**：语义分割和实例分割两幅图有什么区别？"
        "**注意**：两个相邻的方块在语义分割里是同一块区域，在实例分割里是两个物体。",
    ),
    "lesson.step.segment": (
        "### 2. Segment (10 min)\nScene 21 with U-Net. **Click** *Segment*, then add FCN-32s under *Compare with*. "
        "**Ask:** where do the two models disagree? **Notice:** FCN-32s's edges are blocky (×32 upsampling); "
        "confidence is lowest on object borders.",
        "### 2. 分割（10 分钟）\n场景 21，模型 U-Net。**点击**“分割”，再在“与之比较”里加入 FCN-32s。**提问**："
        "两个模型在哪里结论不同？**注意**：FCN-32s 的边缘呈块状（32 倍上采样）；物体边界处置信度最低。",
    ),
    "lesson.step.augment": (
        "### 3. Augment (7 min)\nThe course's pipeline. **Click** *Re-roll* a few times. **Ask:** why may a "
        "sample show no change? **Notice:** every transform runs with a probability p; the mask always moves "
        "with the image.",
        "### 3. 数据增强（7 分钟）\n课程中的流水线。多次**点击**“换一批”。**提问**：为什么有的样本看起来没有变化？"
        "**注意**：每个变换按概率 p 执行；掩码总是与图像一起变换。",
    ),
    "lesson.step.losses": (
        "### 4. Losses (7 min)\n**Move** the *Confidence, hard pixels* slider and watch the losses. **Ask:** which loss "
        "still pushes on pixels that are already right? **Notice:** Focal loss ignores easy pixels; Dice looks at "
        "the overlap of a whole class.",
        "### 4. 损失函数（7 分钟）\n**拖动**“置信度：难分像素”滑块，观察各损失的变化。**提问**：哪种损失对已经预测正确的像素仍在施加压力？"
        "**注意**：Focal 损失忽略容易的像素；Dice 看的是整个类别的重叠。",
    ),
    "lesson.step.miou": (
        "### 5. mIoU (6 min)\n**Click** *Compute metrics* on the example. **Ask:** why are there two mIoUs? "
        "**Notice:** a small class missed entirely costs a whole class in mIoU but few pixels in accuracy.",
        "### 5. mIoU 指标（6 分钟）\n在示例上**点击**“计算指标”。**提问**：为什么有两个 mIoU？"
        "**注意**：完全漏掉一个小类别，在 mIoU 中损失整整一个类别，在像素准确率中却只损失很少的像素。",
    ),
    "lesson.step.train": (
        "### 6. Train (10 min)\nEveryone presses *Train* with the defaults (about a minute), then changes one "
        "thing: loss, augmentation, FCN-32s, or warm start off. **Ask:** whose curve rose fastest, and why? "
        "**Notice:** without the warm start, or with FCN-32s, mIoU stays far lower after the same steps.",
        "### 6. 训练（10 分钟）\n全班用默认设置点击“训练”（约一分钟），然后每人只改一项：损失函数、数据增强、"
        "FCN-32s，或关闭热启动。**提问**：谁的曲线上升得最快？为什么？**注意**：不用热启动或改用 FCN-32s，"
        "相同步数后 mIoU 会低很多。",
    ),
}
