"""eccr.pretrain."""
