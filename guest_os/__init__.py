"""Guest kernels and their runtime.

The sources travel with the install so paravisor can build them on a fresh machine.
"""
