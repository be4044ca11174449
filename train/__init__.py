"""Training package: the paper's perception-to-understanding curriculum on your own data.

    python -m train train/configs/stage1.yaml train_data=my.json output_dir=runs/stage1
    python -m train.eval --checkpoint runs/stage1 --data heldout.json
"""
