"""The pieces of `convert-qnn-to-dory` (`dory_xdsl.transforms.convert_qnn_to_dory`): the per-layer
lowering (`layer`) and the IR building helpers it uses (`emitter`)."""
