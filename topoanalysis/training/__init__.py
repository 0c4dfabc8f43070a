"""Training of topographic spiking networks: data, augmentation, the STC loss, distribution."""
