"""One-off probes behind choices the docs record (a default, a diagnosis), kept runnable to
check them again on new weights: ``python -m benchmarks.probes.NAME --help``.

- ``direction_choice``: does the choice of direction or the generator cap InterFaceGAN's edits?
- ``discriminator``: what FEditNet's assessor can read from the frozen discriminator.
- ``gan_progress``: a GAN run's snapshots/quality.jsonl as a table.
- ``inversion_memory``: peak memory of inverting and pivotally tuning one photo at 256 px.
- ``localstyle_layer_sweep``: the layers and K behind local style's catalog defaults.
- ``pair_steps``: the inversion steps behind the pair method's default.
- ``target_ceiling``: what a perfect edit can gain on a continuous attribute at strength 3.
- ``w_linearity``: how linearly a generator's Z and W encode the world's attributes.
"""
