"""The embedded world: procedural faces with exact attributes and the networks trained on them."""
