"""Strings of the Train tab."""

STRINGS: dict[str, tuple[str, str]] = {
    "train.intro": (
        "## Train a network, live\nPick an architecture, a loss and an augmentation, press **Train**: the same "
        "loop as `python -m segdemo.train` runs on this computer. Watch the loss fall, the validation mIoU rise "
        "and the predictions on four validation scenes sharpen. So that a run learns in seconds on a "
        "CPU, the task is the easy one (discs and squares, large objects), the learning rate follows a one-cycle "
        "schedule, and the **encoder starts from the shipped model** (it already knows edges and shapes, as an "
        "ImageNet-pretrained backbone would); the decoder learns from scratch. Untick *warm start* to see a "
        "network learn from random weights. Earlier runs stay on the plot for comparison.",
        "## 现场训练一个网络\n选择架构、损失函数和数据增强，点击“训练”：在本机运行与 `python -m segdemo.train` "
        "相同的训练循环。观察损失下降、验证集 mIoU 上升，以及四张验证场景上的预测逐渐清晰。为了让一次训练在 CPU 上"
        "几秒钟就能学会，这里用的是简单任务（圆盘和方块，物体较大），学习率采用 one-cycle 策略，并且**编码器从"
        "内置模型开始**（它已经认识边缘和形状，就像在 ImageNet 上预训练的骨干网络）；解码器从零开始学习。"
        "取消勾选“热启动”，可以看到网络从随机权重开始学习。之前的训练曲线会保留在图上便于比较。",
    ),
    "train.card_below_target": (
        "Below the zoo's {target} target (val mIoU {miou}) after {steps} training steps on a 2-core CPU, when its "
        "time budget ran out. `python -m segdemo.train ... --resume` continues it.",
        "低于模型库 {target} 的目标（验证 mIoU {miou}）：在 2 核 CPU 上训练了 {steps} 步，时间预算已用完。"
        "可用 `python -m segdemo.train ... --resume` 继续训练。",
    ),
    "train.warm": ("Warm start (encoder from the shipped model)", "热启动（编码器来自内置模型）"),
    "train.notice_scratch": ("There is no shipped {model} checkpoint to start from: this run starts from random "
                             "weights and learns much more slowly.",
                             "没有可用作起点的内置 {model} 检查点：本次训练从随机权重开始，学得会慢很多。"),
    "train.model": ("Architecture (small variant)", "架构（小型变体）"),
    "train.loss": ("Loss", "损失函数"),
    "train.augment": ("Augmentation", "数据增强"),
    "train.size": ("Image size", "图像尺寸"),
    "train.steps": ("Steps", "步数"),
    "train.seed": ("Seed", "随机种子"),
    "train.go": ("Train", "训练"),
    "train.stop": ("Stop", "停止"),
    "train.curves": ("**Loss and validation mIoU** (earlier runs faint)", "**损失曲线与验证集 mIoU**（浅色为之前的训练）"),
    "train.previews": ("**4 validation scenes**: image (top), ground truth (middle), current prediction (bottom)",
                       "**四张验证场景**：图像（上）、真值（中）、当前预测（下）"),
    "train.metrics": ("Final metrics (JSON)", "最终指标（JSON）"),
    "train.plot.empty": ("no run yet: press Train", "还没有训练：点击“训练”"),
    "train.limits": ("Limits on this server: at most {steps} steps and {seconds} s per run. Up to {slots} runs "
                     "train at the same time and share the processor, so a whole class can train together: alone a "
                     "run takes seconds; with thirty at once each shows its first loss points within seconds "
                     "and every run ends within the {seconds} s limit, sometimes a few steps short, and learns less "
                     "in that time (measured in docs/PERFORMANCE.md).",
                     "本服务器的限制：每次训练最多 {steps} 步、{seconds} 秒。最多 {slots} 个训练同时进行并共享处理器，"
                     "所以全班可以一起训练：单独训练只需几秒；三十人同时训练时，每人几秒内就能看到最初的损失曲线点，"
                     "每次训练都会在 {seconds} 秒的上限内结束，有时会少几步，学到的也会少一些（实测见 "
                     "docs/PERFORMANCE.md）。"),
    "train.server_load": ("On this server now: {running} running, {waiting} waiting.",
                          "本服务器当前：{running} 个进行中，{waiting} 个排队。"),
    "train.download": ("Checkpoint (project format)", "检查点（本项目格式）"),
    "train.plot.loss": ("training loss (smoothed)", "训练损失（平滑）"),
    "train.plot.miou": ("validation mIoU", "验证集 mIoU"),
    "train.plot.step": ("step", "步"),
    "train.idle": ("Press **Train** to start.", "点击“训练”开始。"),
    "train.queued": ("Waiting for a free slot: **position {position}** in the queue ({running} of {slots} slots "
                     "busy).", "等待空闲名额：排在队列第 **{position}** 位（{slots} 个名额中 {running} 个正在使用）。"),
    "train.failed": ("The run failed: {error}", "训练失败：{error}"),
    "train.starting": ("**Starting…** The run gives way to the other requests on the server first, then builds "
                       "the model and takes its first step.",
                       "**正在启动……** 训练先让服务器上的其他请求优先处理，然后构建模型，开始第一步训练。"),
    "train.progress": (
        "**Step {done}/{total}** · {rate} steps/s · {elapsed} s elapsed · about {remaining} s left · "
        "last val mIoU {miou}",
        "**第 {done}/{total} 步** · 每秒 {rate} 步 · 已用 {elapsed} 秒 · 约剩 {remaining} 秒 · 最近验证 mIoU {miou}",
    ),
    "train.progress_ended": (  # no "time left" once the run has ended
        "**Step {done}/{total}** · {rate} steps/s · {elapsed} s · last val mIoU {miou}",
        "**第 {done}/{total} 步** · 每秒 {rate} 步 · 用时 {elapsed} 秒 · 最近验证 mIoU {miou}",
    ),
    "train.finished_done": ("Finished: best val mIoU **{miou}**.", "完成：最佳验证 mIoU **{miou}**。"),
    "train.stopped_unstarted": ("Stopped before it started: nothing was trained, so there is no model to keep.",
                                "在开始训练前就停止了：没有训练，所以没有可保存的模型。"),
    "train.finished_stopped": ("Stopped: best val mIoU so far **{miou}** (kept).",
                               "已停止：目前最佳验证 mIoU **{miou}**（已保留）。"),
    "train.notice_clamped": ("{asked} steps is more than this server allows; training {limit}.",
                             "{asked} 步超过了服务器的上限，将训练 {limit} 步。"),
    "train.stopping": ("Stopping… the best model so far is kept.", "正在停止……已保留目前最佳的模型。"),
    "train.nothing_to_stop": ("No run in progress.", "没有正在进行的训练。"),
    "train.guide_title": ("What to try", "可以试试"),
    "train.guide": (
        "- **FCN-32s vs U-Net** with the same loss and steps: the coarse ×32 upsampling caps FCN-32s's mIoU.\n"
        "- **CE vs Dice vs Focal** on the same architecture and seed: which rises faster on the small shapes?\n"
        "- **Augmentation**: *none* vs *the course's pipeline* for the same number of steps.\n"
        "- **Warm start** on vs off: how much does a pretrained encoder save?\n"
        "- The download is a real checkpoint: `segdemo.checkpoints.load_checkpoint(path)` loads it.",
        "- 相同损失和步数下比较 **FCN-32s 与 U-Net**：粗糙的 32 倍上采样限制了 FCN-32s 的 mIoU。\n"
        "- 同一架构和种子下比较 **CE、Dice 与 Focal**：哪个在小形状上提升更快？\n"
        "- **数据增强**：相同步数下比较“无”与“课程中的流水线”。\n"
        "- **热启动**开与关：预训练的编码器能省下多少训练？\n"
        "- 下载的是真正的检查点：`segdemo.checkpoints.load_checkpoint(path)` 即可加载。",
    ),
    "err.train_loss": ("Unknown loss {name}.", "未知的损失函数 {name}。"),
    "err.train_size": ("Image size must be one of {sizes}.", "图像尺寸必须是 {sizes} 之一。"),
    "err.train_steps": ("Train for at least one step.", "至少训练一步。"),
    "err.train_augment": ("Unknown augmentation preset {name}; choose one of {names}.",
                          "未知的数据增强预设 {name}；请从 {names} 中选择。"),
    "err.train_seed": ("The seed must be between 0 and {max}.", "随机种子必须在 0 到 {max} 之间。"),
    "err.train_queue_full": ("{n} runs are already waiting; try again in a few minutes.",
                             "已有 {n} 个训练在排队，请过几分钟再试。"),
    "train.run_name": ("Your run {number}: {model} · {loss}", "你的第 {number} 次训练：{model} · {loss}"),
    "train.run_name_scored": ("Your run {number}: {model} · {loss} · val mIoU {score}",
                              "你的第 {number} 次训练：{model} · {loss} · 验证集 mIoU {score}"),
    "err.train_busy": ("You already have a run in progress; stop it first.", "你已有一个训练在进行，请先停止它。"),
}


