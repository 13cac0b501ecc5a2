"""Docker images: the images view and building an image (build.py)."""
