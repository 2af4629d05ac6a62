"""Standard calibration steps: WCS fit against a reference catalogue, photometric calibration."""
