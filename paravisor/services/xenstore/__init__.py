"""XenStore: the tree (tree.py), its operations (store.py), the wire protocol (wire.py),
the daemon serving each domain's ring (daemon.py) and dom0's Python handle (client.py).
"""
