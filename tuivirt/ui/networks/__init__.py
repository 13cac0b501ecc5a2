"""Every host's libvirt networks: the networks screen."""
