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
        "### 1. Overview (4 min)\n**Click** *Another scene* twice. **Ask:** what is the difference between the "
        "semantic and the instance panel? **Notice:** two touching squares are one region for semantic "
        "segmentation, two objects for instance segmentation.",
        "### 1. 概览（4 分钟）\n**点击**“换一个场景”两次。**提问**：语义分割和实例分割两幅图有什么区别？"
        "**注意**：两个相邻的方块在语义分割里是同一块区域，在实例分割里是两个物体。",
    ),
    "lesson.step.segment": (
        "### 2. Segment (8 min)\nScene 21 with U-Net. **Click** *Segment*, then add FCN-32s under *Compare with*. "
        "**Ask:** where do the two models disagree? **Notice:** FCN-32s's edges are blocky (×32 upsampling); "
        "confidence is lowest on object borders.",
        "### 2. 分割（8 分钟）\n场景 21，模型 U-Net。**点击**“分割”，再在“与之比较”里加入 FCN-32s。**提问**："
        "两个模型在哪里结论不同？**注意**：FCN-32s 的边缘呈块状（32 倍上采样）；物体边界处置信度最低。",
    ),
    "lesson.step.inside": (
        "### 3. Inside (6 min)\nReceptive fields: **click** the centre of an object, then *Draw the receptive "
        "fields*. **Ask:** why does FCN-32s see so much more of the image than U-Net, and why is the coloured "
        "(effective) field smaller than the square (theoretical) one? **Notice:** the numbers under each picture; "
        "then open *Dilation and ASPP* and compare rates (2, 2, 2) with (1, 2, 5).",
        "### 3. 网络内部（6 分钟）\n感受野：在一个物体的中心**点击**，再点击“绘制感受野”。**提问**：为什么 FCN-32s "
        "看到的图像范围比 U-Net 大得多？为什么彩色的（有效）感受野比方框（理论）感受野小？**注意**每张图下方的数字；"
        "然后打开“空洞卷积与 ASPP”，比较膨胀率 (2, 2, 2) 与 (1, 2, 5)。",
    ),
    "lesson.step.augment": (
        "### 4. Augment (6 min)\nThe course's pipeline. **Click** *Re-roll* a few times. **Ask:** why may a "
        "sample show no change? **Notice:** every transform runs with a probability p; the mask always moves "
        "with the image.",
        "### 4. 数据增强（6 分钟）\n课程中的流水线。多次**点击**“换一批”。**提问**：为什么有的样本看起来没有变化？"
        "**注意**：每个变换按概率 p 执行；掩码总是与图像一起变换。",
    ),
    "lesson.step.losses": (
        "### 5. Losses (6 min)\n**Move** the *Confidence, hard pixels* slider and watch the losses. **Ask:** which loss "
        "still pushes on pixels that are already right? **Notice:** Focal loss ignores easy pixels; Dice looks at "
        "the overlap of a whole class.",
        "### 5. 损失函数（6 分钟）\n**拖动**“置信度：难分像素”滑块，观察各损失的变化。**提问**：哪种损失对已经预测正确的像素仍在施加压力？"
        "**注意**：Focal 损失忽略容易的像素；Dice 看的是整个类别的重叠。",
    ),
    "lesson.step.miou": (
        "### 6. mIoU (6 min)\nOpen *A model on a scene*, pick FCN-32s and press *Evaluate the model*, then U-Net. "
        "**Ask:** which classes lose most, and why does pixel accuracy barely move? **Notice:** the background "
        "holds most pixels, so accuracy stays high; mIoU gives each class the same weight, so a badly drawn thin "
        "ring or cross pulls it down.",
        "### 6. mIoU 指标（6 分钟）\n打开“评估模型在合成场景上的预测”，选择 FCN-32s 并点击“评估模型”，再换成 U-Net。**提问**："
        "哪些类别损失最大？为什么像素准确率几乎不变？**注意**：背景占了大部分像素，所以准确率一直很高；mIoU "
        "对每个类别一视同仁，细圆环或十字画得不好就会把它拉下来。",
    ),
    "lesson.step.train": (
        "### 7. Train (9 min)\nEveryone presses *Train* with the defaults (seconds alone, a few minutes when the whole class trains at once), then changes one "
        "thing: loss, augmentation, FCN-32s, or warm start off. **Ask:** whose curve rose fastest, and why? "
        "**Notice:** without the warm start, or with FCN-32s, mIoU stays far lower after the same steps.",
        "### 7. 训练（9 分钟）\n全班用默认设置点击“训练”（单独训练只需几秒，全班同时训练需要几分钟），然后每人只改一项：损失函数、数据增强、"
        "FCN-32s，或关闭热启动。**提问**：谁的曲线上升得最快？为什么？**注意**：不用热启动或改用 FCN-32s，"
        "相同步数后 mIoU 会低很多。",
    ),
}
