"""Imports every architecture module so that its builders register themselves.

Add one line here per new architecture module.
"""

import segdemo.models.bisenet  # noqa: F401
import segdemo.models.deeplab  # noqa: F401
import segdemo.models.deeplab_multigrid  # noqa: F401
import segdemo.models.dfanet  # noqa: F401
import segdemo.models.espnet  # noqa: F401
import segdemo.models.fastscnn  # noqa: F401
import segdemo.models.fcn  # noqa: F401
import segdemo.models.liteseg  # noqa: F401
import segdemo.models.lraspp  # noqa: F401
import segdemo.models.segformer  # noqa: F401
import segdemo.models.setr  # noqa: F401
import segdemo.models.swinunet  # noqa: F401
import segdemo.models.transunet  # noqa: F401
import segdemo.models.unet  # noqa: F401
