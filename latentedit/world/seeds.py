"""Which renderer seeds each part of the world may use, so held-out faces stay unseen.

The GAN, scorers and encoder train on seeds below `TRAIN_SEED_RANGE`; evaluation and the
"real photos" of the world (what `world render` writes by default) start at `HELDOUT_SEED`.
"""

TRAIN_SEED_RANGE = 1_000_000
HELDOUT_SEED = 1_000_000_000
