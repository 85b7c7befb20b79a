"""The chapter's terms in English and Chinese: one translation each, used in every string.

``tests/test_i18n.py`` checks that a Chinese string translating one of these terms uses the glossary's word,
and that none of the mistranslations below appears anywhere.
"""

#: English term (lower case) -> the Chinese term every string uses.
GLOSSARY: dict[str, str] = {
    "semantic segmentation": "语义分割",
    "instance segmentation": "实例分割",
    "panoptic segmentation": "全景分割",
    "pixel accuracy": "像素准确率",
    "mean accuracy": "平均准确率",
    "receptive field": "感受野",
    "atrous convolution": "空洞卷积",
    "dilated convolution": "空洞卷积",
    "dilation rate": "膨胀率",
    "transposed convolution": "转置卷积",
    "skip connection": "跳跃连接",
    "confusion matrix": "混淆矩阵",
    "ground truth": "真值",
    "false alarm": "误检",
    "false positive": "误检",
    "false negative": "漏检",
    "ignore label": "忽略标签",
    "ignore index": "忽略索引",
    "cross-entropy": "交叉熵",
    "output stride": "输出步幅",
    "upsampling": "上采样",
    "data augmentation": "数据增强",
    "shipped": "内置",
    "checkpoint": "检查点",
}

#: Wrong or inconsistent Chinese renderings (-> the glossary's word) that must not come back.
MISTRANSLATIONS: dict[str, str] = {
    "随附": "内置",
    "误报": "误检",
    "扩张卷积": "空洞卷积",
    "反卷积": "转置卷积",
    "地面真值": "真值",
    "交并比例": "交并比",
}
