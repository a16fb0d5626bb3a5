"""Processes that feed the network from shared buffers: spike rasters and third-factor inputs."""
