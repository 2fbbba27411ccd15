"""Guest kernels and their runtime; the sources travel with the install so paravisor can build them."""
