"""Training package: the paper's perception-to-understanding curriculum on your own data.

    python -m train train/configs/stage1.yaml train_data=my.json output_dir=runs/stage1
    python -m train.eval --checkpoint runs/stage1 --data heldout.json

``config`` (settings + overrides), ``data`` (rows, validation, feature cache), ``recipe``
(the training loop), ``state`` (resumable checkpoints), ``metrics``, ``eval`` and ``scoring``
(the paper's protocol), ``ltu_small`` (the default model's whole recipe), and ``builder/``
(the LTU-small dataset builder, ``python -m train.builder``).
"""
