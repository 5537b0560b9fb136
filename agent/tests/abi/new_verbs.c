/* abi-scan test program: ibv_reg_dmabuf_mr, exported as IBVERBS_1.12 since rdma-core 34
 * (Debian 11 ships 33.2: its libibverbs stops at IBVERBS_1.11, manifests/debian-11.json). */
#include <stdio.h>
#include <stdlib.h>
#include <infiniband/verbs.h>

int main(int argc, char **argv) {
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (!list || n == 0) return 77;
    struct ibv_context *ctx = ibv_open_device(list[0]);
    struct ibv_pd *pd = ctx ? ibv_alloc_pd(ctx) : NULL;
    struct ibv_mr *mr = pd ? ibv_reg_dmabuf_mr(pd, 0, 4096, 0, argc > 1 ? atoi(argv[1]) : -1, IBV_ACCESS_LOCAL_WRITE) : NULL;
    printf("%p\n", (void *)mr);
    if (mr) ibv_dereg_mr(mr);
    if (pd) ibv_dealloc_pd(pd);
    if (ctx) ibv_close_device(ctx);
    ibv_free_device_list(list);
    return 0;
}
