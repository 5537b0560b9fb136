"""rdma-deploy lab: QEMU Debian nodes with Soft-RoCE (see docs/lab.md)."""
