"""Training the feed-forward networks of `method: feedforward` (`vst-node train`)."""
