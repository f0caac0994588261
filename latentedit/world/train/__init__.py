"""Reproducible training recipes for the embedded world (GAN, scorers, segmenter, encoder).

Each recipe runs on CPU (2 cores suffice), reports through a `progress` callback, writes
periodic atomic checkpoints into its run folder, and resumes from the last one.
"""
