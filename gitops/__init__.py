"""The Git client layer: running ``git`` (``command``), the working clone's files and the
version fence's reading side (``files``), and fenced, batched commits pushed to the GitOps
repository (``repository``). No Temporal here: the Git activities call this layer."""
